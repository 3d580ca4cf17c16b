"""Anthropic Messages API adapter: canonical request -> `POST /v1/messages`, answers and errors back.

Mapping decisions (documented in docs/providers.md):
- system and developer messages, wherever they are, become the top-level `system`, in order;
- tool results become `tool_result` blocks of a user turn, consecutive turns of one role merge
  (Anthropic wants all results of one assistant turn in the next user turn, results first);
- `max_tokens` is required by Anthropic: `default_max_tokens` fills it when the caller sent none;
- temperature, top_p and top_k are sent as the API version takes them (`api_version`; the
  version's and the model's rules decide before the adapter sees the request:
  gateway/models/params.py); seed is never sent: Anthropic has none;
- stop sequences of whitespace only are dropped: Anthropic refuses them;
- JSON mode: by default a forced tool named `json_response` whose input schema is the caller's
  schema; its input comes back as the message text. `json_mode: native` sends json_schema
  formats as `output_config.format` instead (newer models only).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from ..models.params import ApiParams
from . import anthropic_api as api
from . import errors
from .anthropic_stream import AnthropicStream
from .base import UpstreamCall, decode_options, no_embeddings, unsupported
from .canonical import (
    ENCODER,
    ChatCompletion,
    ChatRequest,
    Choice,
    ContentPart,
    EmbeddingsRequest,
    FunctionCall,
    Message,
    NamedToolChoice,
    ToolCall,
    assistant,
)
from .content import chosen_function, split_data_url, text_of, tool_arguments


class AnthropicOptions(msgspec.Struct, forbid_unknown_fields=True):
    """Options of the Anthropic Messages API."""

    api_version: Annotated[
        Literal["2026-10-21", "2023-06-01"],
        Meta(
            description="the `anthropic-version` header: `2026-10-21` (current) takes no sampling "
            "parameter, `2023-06-01` takes temperature (0 to 1), top_p and top_k "
            "([providers](providers.md#api-versions-and-parameters))"
        ),
    ] = api.VERSION
    default_max_tokens: Annotated[
        int, Meta(ge=1, description="`max_tokens` when the caller sent none (Anthropic requires one)")
    ] = 4096
    json_mode: Annotated[
        Literal["tool", "native"],
        Meta(
            description="how `response_format` is asked for: `tool` (a forced tool, any model) or "
            "`native` (`output_config.format`, newer models only)"
        ),
    ] = "tool"


class AnthropicAdapter:
    name = "anthropic"

    def __init__(self, options: Mapping[str, Any] | msgspec.Struct | None = None) -> None:
        self.options: AnthropicOptions = decode_options(options or {}, AnthropicOptions)

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}

    def accepted_params(self) -> ApiParams:
        version = self.options.api_version
        return ApiParams(f"anthropic API {version}", api.VERSIONS[version])

    # ----------------------------------------------------------------- request

    def chat_call(self, request: ChatRequest, upstream_model: str, base_url: str) -> UpstreamCall:
        # base_url is what the Anthropic SDK takes (https://api.anthropic.com); tolerate a trailing /v1.
        path = "/messages" if base_url.rstrip("/").endswith("/v1") else "/v1/messages"
        headers = {"content-type": "application/json", "anthropic-version": self.options.api_version}
        out = self.messages_request(request, upstream_model)
        dropped = ("stop",) if request.stop and out.stop_sequences != request.stop_list else ()
        return UpstreamCall(path, headers, api.ENCODER.encode(out), dropped)

    def messages_request(self, request: ChatRequest, model: str) -> api.MessagesRequest:
        _reject_unsupported(request)
        system, messages = _conversation(request.messages)
        out = api.MessagesRequest(
            model=model,
            messages=messages,
            max_tokens=request.output_limit or self.options.default_max_tokens,
            system=system,
            stop_sequences=_stop_sequences(request.stop_list),
            metadata=api.Metadata(user_id=request.user) if request.user else None,
            stream=True if request.stream else None,
        )
        _tools(request, out)
        _response_format(request, out, self.options.json_mode)
        # What the API version takes: the request's rules (gateway/models/params.py) have dropped
        # the rest already, and a request built without them still never carries it.
        takes = api.VERSIONS[self.options.api_version]
        out.temperature = request.temperature if "temperature" in takes else None
        out.top_p = request.top_p if "top_p" in takes else None
        out.top_k = request.top_k if "top_k" in takes else None
        return out

    # ----------------------------------------------------------------- response

    def chat_response(self, status: int, body: bytes, public_model: str) -> tuple[int, bytes]:
        if status >= 400:
            return error_response(status, body)
        try:
            message = api.MESSAGE_DECODER.decode(body)
        except msgspec.DecodeError:
            return errors.unreadable(self.name, status)
        return 200, ENCODER.encode(completion(message, public_model))

    def chat_stream(self, public_model: str, include_usage: bool) -> AnthropicStream:
        return AnthropicStream(public_model, include_usage)

    def embeddings_call(self, request: EmbeddingsRequest, upstream_model: str, base_url: str) -> UpstreamCall:
        raise no_embeddings(self.name)

    def embeddings_response(
        self, status: int, body: bytes, public_model: str, encoding_format: str | None = None
    ) -> tuple[int, bytes]:
        raise no_embeddings(self.name)


# --------------------------------------------------------------------------- request pieces


def _stop_sequences(stop: list[str] | None) -> list[str] | None:
    # Anthropic refuses a stop sequence of whitespace only; the model's output holds whitespace
    # everywhere, so such a sequence would stop it anywhere: it is dropped.
    kept = [sequence for sequence in stop or () if sequence.strip()]
    return kept or None


def _reject_unsupported(request: ChatRequest) -> None:
    if request.n is not None and request.n > 1:
        raise unsupported("n > 1 is not supported by anthropic; send n separate requests.", "n")
    if request.logprobs or request.top_logprobs:
        raise unsupported("logprobs are not supported by anthropic.", "logprobs")
    if request.modalities and request.modalities != ["text"]:
        raise unsupported("anthropic models answer with text only.", "modalities")


def _conversation(messages: list[Message]) -> tuple[str | None, list[api.MessageParam]]:
    system: list[str] = []
    turns: list[api.MessageParam] = []
    for i, msg in enumerate(messages):
        param = f"messages[{i}]"
        role = msg.role
        blocks: list[api.Block]
        if role in ("system", "developer"):
            system.append(text_of(msg.content, param))
            continue
        if role == "user":
            blocks = _user_blocks(msg.content, param)
        elif role == "assistant":
            blocks = _assistant_blocks(msg, param)
        elif role == "tool":
            if not msg.tool_call_id:
                raise unsupported("A tool message needs its tool_call_id.", f"{param}.tool_call_id")
            result = msg.content if isinstance(msg.content, str) or msg.content is None else None
            content = result if result is not None else _user_blocks(msg.content, param, tool_result=True)
            blocks = [api.ToolResultBlock(tool_use_id=msg.tool_call_id, content=content)]
            role = "user"
        else:
            raise unsupported(
                "The legacy 'function' role is not supported; send tool results as 'tool' messages.",
                f"{param}.role",
            )
        if turns and turns[-1].role == role:
            previous = turns[-1].content
            assert isinstance(previous, list)
            previous.extend(blocks)
        else:
            turns.append(api.MessageParam(role=role, content=blocks))
    for turn in turns:  # a lone text block is sent the short way, as Anthropic's examples do
        if len(turn.content) == 1 and isinstance(turn.content[0], api.TextBlock):
            turn.content = turn.content[0].text
    return ("\n\n".join(system) if system else None), turns


def _user_blocks(content: str | list[ContentPart] | None, param: str, tool_result: bool = False) -> list[Any]:
    if content is None:
        return []
    if isinstance(content, str):
        return [api.TextBlock(text=content)] if content else []
    blocks: list[Any] = []
    for j, part in enumerate(content):
        where = f"{param}.content[{j}]"
        if part.type == "text" and part.text is not None:
            if part.text:
                blocks.append(api.TextBlock(text=part.text))
        elif part.type == "image_url" and part.image_url is not None:
            url = part.image_url.url
            data = split_data_url(url, where)
            source = api.Base64Source(media_type=data[0], data=data[1]) if data else api.URLSource(url=url)
            blocks.append(api.ImageBlock(source=source))
        elif part.type == "file" and part.file is not None and part.file.file_data and not tool_result:
            data = split_data_url(part.file.file_data, f"{where}.file.file_data")
            if data is None:
                raise unsupported("file_data must be a data URL.", f"{where}.file.file_data")
            blocks.append(
                api.DocumentBlock(
                    source=api.Base64Source(media_type=data[0], data=data[1]), title=part.file.filename
                )
            )
        else:
            raise unsupported(f"Content parts of type '{part.type}' are not supported by anthropic.", where)
    return blocks


def _assistant_blocks(msg: Message, param: str) -> list[api.Block]:
    blocks: list[api.Block] = []
    if isinstance(msg.content, str):
        if msg.content:
            blocks.append(api.TextBlock(text=msg.content))
    elif msg.content is not None:
        for j, part in enumerate(msg.content):
            text = part.text if part.type == "text" else part.refusal if part.type == "refusal" else None
            if text is None:
                raise unsupported("Assistant content may only hold text.", f"{param}.content[{j}]")
            if text:
                blocks.append(api.TextBlock(text=text))
    for k, call in enumerate(msg.tool_calls or ()):
        args = tool_arguments(call.function.arguments, f"{param}.tool_calls[{k}].function.arguments")
        blocks.append(api.ToolUseBlock(id=call.id, name=call.function.name, input=args))
    return blocks


def _tools(request: ChatRequest, out: api.MessagesRequest) -> None:
    tools = []
    for i, tool in enumerate(request.tools or ()):
        fn = tool.function
        if tool.type != "function" or fn is None:
            raise unsupported(f"Tools of type '{tool.type}' are not supported by anthropic.", f"tools[{i}]")
        if fn.name == api.JSON_TOOL and request.response_format is not None:
            raise unsupported(
                f"The tool name '{api.JSON_TOOL}' is reserved when response_format is set.", f"tools[{i}]"
            )
        schema = fn.parameters or {"type": "object", "properties": {}}
        tools.append(api.ToolParam(name=fn.name, input_schema=schema, description=fn.description))
    if tools:
        out.tools = tools
    choice = request.tool_choice
    single = True if request.parallel_tool_calls is False else None
    if choice is None:
        out.tool_choice = api.ToolChoiceAuto(disable_parallel_tool_use=True) if single and tools else None
    elif isinstance(choice, NamedToolChoice):
        name = chosen_function(choice, "anthropic")
        out.tool_choice = api.ToolChoiceTool(name=name, disable_parallel_tool_use=single)
    elif choice == "required":
        out.tool_choice = api.ToolChoiceAny(disable_parallel_tool_use=single)
    elif choice == "none":
        out.tool_choice = api.ToolChoiceNone() if tools else None
    else:
        out.tool_choice = api.ToolChoiceAuto(disable_parallel_tool_use=single) if tools else None


def _response_format(request: ChatRequest, out: api.MessagesRequest, mode: str) -> None:
    fmt = request.response_format
    if fmt is None or fmt.type == "text":
        return
    schema: dict[str, Any] = {"type": "object"}
    if fmt.type == "json_schema":
        if fmt.json_schema is None or fmt.json_schema.schema is None:
            raise unsupported("json_schema needs a schema.", "response_format.json_schema.schema")
        schema = fmt.json_schema.schema
        if mode == "native":
            out.output_config = api.OutputConfig(format=api.JSONOutputFormat(schema=schema))
            return
    if schema.get("type") != "object":
        raise unsupported(
            "anthropic can only be asked for a JSON object: the schema's type must be 'object'.",
            "response_format.json_schema.schema",
        )
    json_tool = api.ToolParam(name=api.JSON_TOOL, input_schema=schema, description=api.JSON_TOOL_DESCRIPTION)
    if out.tools and not isinstance(out.tool_choice, api.ToolChoiceNone):
        # The answer must be either a call of the caller's tools or the JSON: force one of them.
        out.tools.append(json_tool)
        if out.tool_choice is None or isinstance(out.tool_choice, api.ToolChoiceAuto):
            out.tool_choice = api.ToolChoiceAny()
        return
    out.tools = [json_tool]
    out.tool_choice = api.ToolChoiceTool(name=api.JSON_TOOL)


# --------------------------------------------------------------------------- response pieces


def completion(message: api.Message, public_model: str) -> ChatCompletion:
    texts: list[str] = []
    calls: list[ToolCall] = []
    for block in message.content:
        if block.type == "text" and block.text:
            texts.append(block.text)
        elif block.type == "tool_use" and block.id and block.name:
            arguments = ENCODER.encode(block.input if block.input is not None else {}).decode()
            if block.name == api.JSON_TOOL:
                texts.append(arguments)  # JSON mode: the forced tool's input is the answer
            else:
                calls.append(
                    ToolCall(id=block.id, function=FunctionCall(name=block.name, arguments=arguments))
                )
    finish = api.finish_reason(message.stop_reason, bool(calls))
    return ChatCompletion(
        id=message.id,
        object="chat.completion",
        created=int(time.time()),
        model=public_model,
        choices=[
            Choice(
                index=0,
                message=assistant("".join(texts) if texts or not calls else None, calls or None),
                finish_reason=finish,
            )
        ],
        usage=api.openai_usage(message.usage),
    )


def error_response(status: int, body: bytes) -> tuple[int, bytes]:
    try:
        err = api.ERROR_DECODER.decode(body).error
    except msgspec.DecodeError:
        return errors.provider_error(status, "anthropic", f"The provider answered {status}.")
    openai_type, code = api.openai_error_kind(err, status)
    return errors.provider_error(status, "anthropic", err.message, openai_type, code)
