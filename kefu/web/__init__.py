"""kefu.web: static files the server serves: the chat widget, the demo shop page, the operator console."""
