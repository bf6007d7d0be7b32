"""The service layer: views call these; these do the work."""
