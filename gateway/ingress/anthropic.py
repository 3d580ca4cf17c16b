"""Anthropic Messages ingress (`POST /v1/messages`): Anthropic callers reach any provider.

Requests become canonical (OpenAI) requests; canonical answers and errors become Anthropic
Message JSON and Anthropic error JSON. What OpenAI's format cannot carry is refused with a 400
in Anthropic's error format (see docs/providers.md for the table).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..errors import GatewayError, anthropic_json, bad_request, decode_body
from ..providers import anthropic_api as api
from ..providers.base import unsupported
from ..providers.canonical import (
    COMPLETION_DECODER,
    ENCODER,
    ChatCompletion,
    ChatRequest,
    ContentPart,
    FileRef,
    FunctionCall,
    FunctionDef,
    ImageURL,
    JSONSchemaSpec,
    Message,
    NamedFunction,
    NamedToolChoice,
    ResponseFormat,
    StreamOptions,
    Tool,
    ToolCall,
)
from ..providers.content import tool_arguments

# OpenAI finish_reason -> Anthropic stop_reason.
STOP_REASONS = {
    "stop": "end_turn",
    "length": "max_tokens",
    "tool_calls": "tool_use",
    "function_call": "tool_use",
    "content_filter": "refusal",
}

# --------------------------------------------------------------------------- request


def chat_request(body: bytes, version: str | None = None) -> ChatRequest:
    """Anthropic request JSON -> canonical request; a 400 GatewayError when it cannot be one.

    `version` is the caller's `anthropic-version`: from 2026-10-21 on (the default of the anthropic
    SDKs from 2.0), what that version refuses is refused here too; older callers, or none, are
    read as 2023-06-01."""
    request = decode_body(api.REQUEST_DECODER, body)
    if version is not None and version >= api.VERSION:
        _refuse_what_the_version_lacks(request)
    return canonical(request)


def _refuse_what_the_version_lacks(req: api.MessagesRequest) -> None:
    # https://docs.anthropic.com/en/api/versioning: 2026-10-21 has no sampling parameters, no
    # document blocks in assistant turns and no citations on text blocks of user turns.
    for name in ("temperature", "top_p", "top_k"):
        if getattr(req, name) is not None:
            raise bad_request("Extra inputs are not permitted", name)
    for i, msg in enumerate(req.messages):
        for j, block in enumerate(msg.content if isinstance(msg.content, list) else ()):
            where = f"messages.{i}.content.{j}"
            if msg.role == "assistant" and isinstance(block, api.DocumentBlock):
                raise unsupported("document blocks are not permitted in assistant messages", where)
            if msg.role == "user" and isinstance(block, api.TextBlock) and block.citations:
                raise unsupported("citations are not permitted in user messages", f"{where}.citations")


def canonical(req: api.MessagesRequest) -> ChatRequest:
    messages: list[Message] = []
    if req.system:
        messages.append(Message(role="system", content=_system_text(req.system)))
    for i, msg in enumerate(req.messages):
        param = f"messages.{i}.content"
        if msg.role == "user":
            messages.extend(_user(msg.content, param))
        elif msg.role == "system":
            messages.append(Message(role="system", content=_system_text(msg.content, param)))
        else:
            messages.append(_assistant(msg.content, param))
    tools, choice, parallel = _tools(req)
    return ChatRequest(
        model=req.model,
        messages=messages,
        tools=tools,
        tool_choice=choice,
        parallel_tool_calls=parallel,
        response_format=_response_format(req.output_config),
        stop=req.stop_sequences,
        temperature=req.temperature,
        top_p=req.top_p,
        top_k=req.top_k,
        max_tokens=req.max_tokens,
        stream=True if req.stream else None,
        # The usage arrives in the last chunk only when asked for; message_delta needs it.
        stream_options=StreamOptions(include_usage=True) if req.stream else None,
        user=req.metadata.user_id if req.metadata else None,
    )


def _system_text(system: str | list[Any], param: str = "system") -> str:
    if isinstance(system, str):
        return system
    texts = []
    for j, block in enumerate(system):
        if not isinstance(block, api.TextBlock):
            raise unsupported("A system prompt may hold text blocks only.", f"{param}.{j}")
        texts.append(block.text)
    return "\n\n".join(texts)


def _user(content: str | list[Any], param: str) -> list[Message]:
    if isinstance(content, str):
        return [Message(role="user", content=content)]
    results: list[Message] = []  # tool results first: OpenAI wants them right after the tool calls
    parts: list[ContentPart] = []
    for j, block in enumerate(content):
        where = f"{param}.{j}"
        if isinstance(block, api.ToolResultBlock):
            results.append(
                Message(role="tool", tool_call_id=block.tool_use_id, content=_tool_result(block, where))
            )
        else:
            parts.append(_part(block, where))
    if parts:
        lone_text = len(parts) == 1 and parts[0].type == "text"
        results.append(Message(role="user", content=parts[0].text if lone_text else parts))
    return results


def _part(block: Any, where: str) -> ContentPart:
    if isinstance(block, api.TextBlock):
        return ContentPart(type="text", text=block.text)
    if isinstance(block, api.ImageBlock):
        source = block.source
        url = (
            source.url
            if isinstance(source, api.URLSource)
            else f"data:{source.media_type};base64,{source.data}"
        )
        return ContentPart(type="image_url", image_url=ImageURL(url=url))
    if isinstance(block, api.DocumentBlock):
        doc = block.source
        if isinstance(doc, api.TextSource):
            return ContentPart(type="text", text=doc.data)
        if isinstance(doc, api.Base64Source):
            data_url = f"data:{doc.media_type};base64,{doc.data}"
            return ContentPart(type="file", file=FileRef(file_data=data_url, filename=block.title))
        raise unsupported("Documents given by URL cannot be forwarded; send them as base64.", where)
    kind = type(block).__struct_config__.tag
    raise unsupported(f"A '{kind}' block cannot appear in a user message.", where)


def _tool_result(block: api.ToolResultBlock, where: str) -> str:
    content = block.content
    if content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    else:
        texts = []
        for k, item in enumerate(content):
            if not isinstance(item, api.TextBlock):
                raise unsupported(
                    "Images inside a tool_result cannot be expressed in the OpenAI format used upstream; "
                    "send the image in a separate user content block.",
                    f"{where}.content.{k}",
                )
            texts.append(item.text)
        text = "\n".join(texts)
    # OpenAI tool messages have no error flag: say it in the text so the model still sees it.
    return f"Error: {text}" if block.is_error else text


def _assistant(content: str | list[Any], param: str) -> Message:
    if isinstance(content, str):
        return Message(role="assistant", content=content)
    texts: list[str] = []
    calls: list[ToolCall] = []
    for j, block in enumerate(content):
        if isinstance(block, api.TextBlock):
            texts.append(block.text)
        elif isinstance(block, api.ToolUseBlock):
            arguments = ENCODER.encode(block.input).decode()
            calls.append(ToolCall(id=block.id, function=FunctionCall(name=block.name, arguments=arguments)))
        elif isinstance(block, api.ThinkingBlock | api.RedactedThinkingBlock):
            continue  # reasoning of an earlier turn: other providers cannot take it back
        else:
            raise unsupported("Assistant messages may hold text and tool_use blocks only.", f"{param}.{j}")
    return Message(role="assistant", content="".join(texts) if texts else None, tool_calls=calls or None)


def _tools(req: api.MessagesRequest) -> tuple[list[Tool] | None, Any, bool | None]:
    tools = []
    for i, tool in enumerate(req.tools or ()):
        if tool.type not in (None, "custom") or tool.input_schema is None:
            raise unsupported(
                f"Server tools ('{tool.type or tool.name}') run inside Anthropic and cannot be served "
                "through aigw; declare a client tool with an input_schema instead.",
                f"tools.{i}",
            )
        fn = FunctionDef(name=tool.name, description=tool.description, parameters=tool.input_schema)
        tools.append(Tool(type="function", function=fn))
    choice = req.tool_choice
    mapped: Any = None
    if isinstance(choice, api.ToolChoiceAuto):
        mapped = "auto"
    elif isinstance(choice, api.ToolChoiceAny):
        mapped = "required"
    elif isinstance(choice, api.ToolChoiceTool):
        mapped = NamedToolChoice(function=NamedFunction(name=choice.name))
    elif isinstance(choice, api.ToolChoiceNone):
        mapped = "none"
    single = getattr(choice, "disable_parallel_tool_use", None)
    return tools or None, mapped, False if single else None


def _response_format(config: api.OutputConfig | None) -> ResponseFormat | None:
    if config is None:
        return None
    spec = JSONSchemaSpec(name="response", schema=config.format.schema)
    return ResponseFormat(type="json_schema", json_schema=spec)


# --------------------------------------------------------------------------- response


def message_response(status: int, body: bytes, public_model: str) -> tuple[int, bytes]:
    """Canonical answer (ChatCompletion, or an OpenAI error) -> Anthropic Message or error JSON."""
    if status >= 400:
        return openai_error(status, body)
    try:
        done = COMPLETION_DECODER.decode(body)
    except msgspec.DecodeError:
        unreadable = "The upstream answer could not be read. Retry the request."
        return 502, anthropic_json(GatewayError(502, "api_error", "upstream_bad_response", unreadable))
    return 200, api.ENCODER.encode(message(done, public_model))


def message(done: ChatCompletion, public_model: str) -> api.Message:
    choice = done.choices[0] if done.choices else None
    blocks: list[api.ResponseBlock] = []
    if choice is not None and choice.message.content:
        blocks.append(api.ResponseBlock(type="text", text=choice.message.content))
    for call in (choice.message.tool_calls if choice else None) or ():
        try:
            args: Any = tool_arguments(call.function.arguments, "tool_calls")
        except GatewayError:
            args = {}  # a model that wrote broken JSON: Anthropic's input must be an object
        blocks.append(api.ResponseBlock(type="tool_use", id=call.id, name=call.function.name, input=args))
    stop = STOP_REASONS.get(choice.finish_reason, "end_turn") if choice else "end_turn"
    return api.Message(
        id=done.id if done.id.startswith("msg_") else f"msg_{done.id}",
        content=blocks,
        model=public_model,
        stop_reason=stop,
        stop_sequence=None,
        usage=anthropic_usage(done.usage),
    )


def anthropic_usage(u: Any) -> api.Usage:
    if u is None:
        return api.Usage(
            input_tokens=0, output_tokens=0, cache_creation_input_tokens=0, cache_read_input_tokens=0
        )
    cached = u.prompt_tokens_details.cached_tokens if u.prompt_tokens_details else 0
    return api.Usage(
        input_tokens=u.prompt_tokens - cached,  # Anthropic counts cache reads apart
        output_tokens=u.completion_tokens,
        cache_creation_input_tokens=0,
        cache_read_input_tokens=cached,
    )


class _OpenAIError(msgspec.Struct):
    message: str = ""
    type: str = "api_error"
    code: str | int | None = None


class _OpenAIErrorEnvelope(msgspec.Struct):
    error: _OpenAIError


_OPENAI_ERROR = msgspec.json.Decoder(_OpenAIErrorEnvelope)


def openai_error(status: int, body: bytes) -> tuple[int, bytes]:
    """An OpenAI error answer (the upstream's, translated, or the gateway's) in Anthropic's shape."""
    try:
        error = _OPENAI_ERROR.decode(body).error
    except msgspec.DecodeError:
        error = _OpenAIError()
    message = error.message or f"The upstream answered {status}."
    return status, anthropic_json(GatewayError(status, error.type, str(error.code or ""), message))
