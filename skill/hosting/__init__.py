"""Serve the skill: the envelope checks shared by the web service and the Lambda handler."""
