"""The `csagent` command line, one module per command group; with the demo and the app
wiring, this package is the composition root: the only place that knows every layer."""

from __future__ import annotations

import typer
import yaml
from pydantic import ValidationError

from cli.bench import bench_app
from cli.data import demo, import_v1_command, stats
from cli.db import db_app
from cli.evals import eval_app
from cli.events import events_app
from cli.kb import kb_app
from cli.mirakl import mirakl_app, poll
from cli.run import mirakl_sim, serve, sync, worker
from cli.users import users_app
from knowledge.canned import load_canned
from store.settings import get_settings

app = typer.Typer(
    help="csagent: customer-service agent for Mirakl marketplace sellers.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.command("import-v1")(import_v1_command)
app.command("stats")(stats)
app.command("demo")(demo)
app.command("serve")(serve)
app.command("worker")(worker)
app.command("sync")(sync)
app.command("mirakl-sim")(mirakl_sim)
app.command("poll")(poll)
app.add_typer(mirakl_app, name="mirakl")
app.add_typer(events_app, name="events")
app.add_typer(kb_app, name="kb")
app.add_typer(eval_app, name="eval")
app.add_typer(bench_app, name="bench")
app.add_typer(users_app, name="users")


def main() -> None:
    try:
        get_settings()  # a misconfiguration is said once, plainly, before any command runs
    except ValidationError as exc:
        lines = [
            f"  {'.'.join(str(p) for p in e['loc']) or 'settings'}: "
            f"{str(e['msg']).removeprefix('Value error, ')}"
            for e in exc.errors()
        ]
        typer.secho("error: invalid configuration\n" + "\n".join(lines), err=True, fg="red")
        raise SystemExit(2) from None
    canned = get_settings().canned_file
    if canned is not None:
        try:
            load_canned(canned)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            typer.secho(f"error: invalid configuration\n  canned_file: {exc}", err=True, fg="red")
            raise SystemExit(2) from None
    app()
