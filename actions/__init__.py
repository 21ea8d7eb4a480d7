"""Forms and custom actions written against rasa-sdk.

``python -m rasa_sdk --actions actions`` serves them as a Rasa action server; the dialogue
engine will run the same classes in-process (the assistance-request issue).
"""

from actions.forms import ValidateAssistanceRequestForm
from actions.submit import ActionSubmitAssistanceRequest

__all__ = ["ActionSubmitAssistanceRequest", "ValidateAssistanceRequestForm"]
