"""The database layer: settings, connections, models, migrations and the V1 import."""
