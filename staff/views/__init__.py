"""Page handlers of the staff app, one module per area of work."""
