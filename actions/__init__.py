"""Forms and custom actions written against rasa-sdk (the assistance-request form lands here)."""
