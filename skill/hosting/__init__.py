"""Serve the skill: envelope checks shared by the web service and Lambda, the Lambda bundle and its deployment."""
