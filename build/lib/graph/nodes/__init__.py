"""The agent graph's nodes, grouped by what they do: reading the context and classifying
(`context`), the automated resolutions (`resolutions`), drafting and human review (`review`),
and the side effects (`actions`). Decisions come from graph/policies.py; everything the customer
wrote is data, never instructions."""
