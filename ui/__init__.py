"""Streamlit helpers the pages share: URL-synced parameters, the error boundary, explain boxes, exports."""
