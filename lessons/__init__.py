"""The words of every page: presets, widget ranges and labels, headline sentences, "why" texts computed from
the run, try-this prompts and references. One module per page; no Streamlit (``ui/`` draws them)."""
