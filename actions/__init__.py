"""The assistance-request form and its actions, written against rasa-sdk.

``actions/slots.py`` declares the form (pure data, read by the dialogue, the staff app and the Rasa
domain); ``actions/forms.py`` and ``actions/submit.py`` hold the rasa-sdk actions. Nothing is imported
here, so reading the declaration loads no rasa-sdk: ``python -m rasa_sdk --actions actions`` imports
every module of the package itself (rasa_sdk.executor ``register_package``) and serves the actions
it finds; the dialogue engine runs the same classes in-process.
"""
