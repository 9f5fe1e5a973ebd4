"""kefu.agents: everything that turns a customer message into a decision and a reply."""

from kefu.agents.brains.embedded import EmbeddedBrain
from kefu.agents.brains.scripted import ScriptedChatModel
from kefu.agents.confirmation import is_explicit_yes
from kefu.agents.graph import build_agent, system_prompt
from kefu.agents.nlu.sentiment import Sentiment, read_sentiment
from kefu.agents.sessions import open_checkpointer
from kefu.agents.state import KefuState

__all__ = [
    "EmbeddedBrain",
    "KefuState",
    "ScriptedChatModel",
    "Sentiment",
    "build_agent",
    "is_explicit_yes",
    "open_checkpointer",
    "read_sentiment",
    "system_prompt",
]
