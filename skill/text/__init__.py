"""Hold every sentence the coach says, one module per locale."""
