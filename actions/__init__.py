"""Forms and custom actions written against rasa-sdk.

The dialogue engine runs them in-process; ``python -m tongban.action_server`` serves the same
classes as a Rasa action server.
"""

from actions.forms import ValidateAssistanceRequestForm
from actions.submit import ActionSubmitAssistanceRequest

__all__ = ["ActionSubmitAssistanceRequest", "ValidateAssistanceRequestForm"]
