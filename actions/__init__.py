"""The assistance-request form and its actions, written against rasa-sdk.

``actions/slots.py`` declares the form (pure data, read by the dialogue, the staff app and the Rasa
domain); ``actions/forms.py`` and ``actions/submit.py`` hold the rasa-sdk actions. Nothing is imported
here, so reading the declaration loads no rasa-sdk. The dialogue engine runs the actions in-process;
``python -m tongban.action_server`` serves the same classes as a Rasa action server.
"""
