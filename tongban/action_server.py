"""The standalone Rasa action server: the form's actions served over HTTP by rasa-sdk.

    python -m tongban.action_server [--port 5055] [rasa-sdk's other action-server options]

The composition root of that process: it registers the actions itself, the submit action with a
store on the deployment's database (``TONGBAN_*`` settings, read in the server's worker process).
"""

from __future__ import annotations

import sys

from rasa_sdk import utils
from rasa_sdk.endpoint import create_argument_parser, run
from rasa_sdk.executor import ActionExecutor

from actions.forms import ValidateAssistanceRequestForm
from actions.submit import ActionSubmitAssistanceRequest, DatabaseRequestStore, RequestStore


class DeploymentStore(RequestStore):
    """The deployment's ledger database, opened on the first filing. rasa-sdk's worker is a spawned
    process that receives the actions pickled: a database engine cannot travel, settings are read there."""

    def __init__(self):
        self._store: DatabaseRequestStore | None = None

    def file(self, data, *, conversation_id, channel, referral):
        if self._store is None:
            from tongban.settings import get_settings
            from tongban.storage import open_ledger

            self._store = DatabaseRequestStore(*open_ledger(get_settings()))
        return self._store.file(data, conversation_id=conversation_id, channel=channel, referral=referral)


def build_executor() -> ActionExecutor:
    """The actions the server runs, each built with what it needs."""
    executor = ActionExecutor()
    executor.register_action(ValidateAssistanceRequestForm())
    executor.register_action(ActionSubmitAssistanceRequest(DeploymentStore()))
    return executor


def main(argv: list[str] | None = None) -> None:
    args = create_argument_parser().parse_args(argv)
    utils.configure_colored_logging(args.loglevel)
    utils.update_sanic_log_level()
    run(build_executor(), args.port, args.cors, args.ssl_certificate, args.ssl_keyfile, args.ssl_password)


if __name__ == "__main__":
    main(sys.argv[1:])
