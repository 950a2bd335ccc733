"""Host the skill: the AWS Lambda bundle and its deployment."""
