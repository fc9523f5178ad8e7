"""The Gradio dashboard where agents read threads and approve, edit or reject drafts."""
