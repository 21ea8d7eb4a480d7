"""Everything a running process needs, built once: ``Runtime.build(settings)``.

The embedder is shared by retrieval and intent recognition; the database and the
cipher by the conversation store and the ledger services.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.engine import DialogueEngine
from knowledge.embedding import Embedder, build_embedder
from knowledge.service import KnowledgeBase
from ledger.conversations import ConversationStore
from ledger.crypto import DataCipher
from ledger.db import Database
from nlu.interpreter import Interpreter
from tongban.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    embedder: Embedder
    knowledge: KnowledgeBase
    interpreter: Interpreter
    db: Database
    cipher: DataCipher
    engine: DialogueEngine

    @classmethod
    def build(cls, settings: Settings, *, embedder: Embedder | None = None,
              knowledge: KnowledgeBase | None = None, interpreter: Interpreter | None = None,
              watch: bool | None = None) -> "Runtime":
        settings.ensure_dirs()
        embedder = embedder or (knowledge.embedder if knowledge else build_embedder(settings.embedding))
        knowledge = knowledge or KnowledgeBase(settings, embedder=embedder).start(watch=watch)
        interpreter = interpreter or Interpreter.load_or_train(embedder, settings.models_dir)
        db = Database(settings)
        cipher = DataCipher.from_settings(settings)
        store = ConversationStore(db, cipher)
        engine = DialogueEngine(settings=settings, knowledge=knowledge, interpreter=interpreter,
                                store=store, cipher=cipher)
        return cls(settings, embedder, knowledge, interpreter, db, cipher, engine)

    def close(self, *, stop_knowledge: bool = True) -> None:
        if stop_knowledge:
            self.knowledge.stop()
        self.db.dispose()
