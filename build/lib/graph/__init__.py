"""The LangGraph state machine: classify each customer message, then resolve it or draft a reply."""
