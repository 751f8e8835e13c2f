"""A local HTTP server that speaks the Bedrock Runtime Converse API on 127.0.0.1.

One wire implementation (``wire``) serves every "model" behind it: the scripted,
fault-injecting judge the tests use (``scripted``) and a real local model (``llama``).
boto3 reaches it through ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME``, so the production code path
runs unchanged against it.
"""

from judge.server.wire import Backend, ConverseFault, ConverseServer

__all__ = ["Backend", "ConverseFault", "ConverseServer"]
