"""The expert's DM for a request, in every state (and the experts-channel post)."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, ConfirmObject, DividerBlock, HeaderBlock, SectionBlock

from bot.slack.blocks import brief as brief_ui
from bot.slack.blocks.common import as_dicts, context, kind_label, md, plain, skills_text, when_text
from bot.slack.ids import Action, Block as BlockId
from bot.slack.payloads import request_value
from bot.slack.text import channel_link, escape, escape_clip, link, mention
from models import Brief, Cover, Request, RequestStatus, Response, Urgency


@dataclass(frozen=True)
class OfferState:
    """What this viewer sees: derived from the request, their own offer, and the brief."""

    viewer_user_id: str | None
    response: str | None = None  # the viewer's first response (Response value) or None
    brief: Brief | None = None
    cover: Cover | None = None  # the claimer asked the others to take it over


def summary_blocks(request: Request, tz: str | None, *, per_reader: bool = False) -> list[Block]:
    urgent = request.urgency == Urgency.URGENT.value
    title = f"{'🚨 Urgent: ' if urgent else ''}{kind_label(request.kind)} · request #{request.id}"
    fields = [
        md(f"*Account*\n{escape_clip(request.account, 1900)}"),
        md(when_text(request, tz, per_reader=per_reader)),
        md(f"*Skills*\n{skills_text(request)}"),
        md(f"*Requested by*\n{mention(request.requester.slack_user_id)} in {channel_link(request.channel_id)}"),
    ]
    if request.crm_url:
        fields.append(md(f"*CRM*\n{link(request.crm_url, 'Open the opportunity')}"))
    return [
        HeaderBlock(text=plain(title[:150])),
        SectionBlock(fields=fields),
        SectionBlock(text=md("*What is needed*\n" + escape_clip(request.description, 2900))),
    ]


def _claimer(request: Request) -> str:
    return mention(request.claimed_by.slack_user_id) if request.claimed_by else "someone"


def state_line(request: Request, state: OfferState) -> tuple[str, bool]:
    """(status sentence, whether Claim/Decline are still offered)."""
    mine = request.claimed_by is not None and request.claimed_by.slack_user_id == state.viewer_user_id
    if request.status == RequestStatus.CLAIMED.value and state.cover is not None:
        if mine:
            return "🆘 *You asked for cover.* You stay on it until someone takes it over.", False
        note = f": “{escape_clip(state.cover.note, 300)}”" if state.cover.note else ""
        return f"🆘 {_claimer(request)} claimed this and asks for cover{note}. Can you take it over?", False
    if request.status == RequestStatus.CLAIMED.value:
        return ("✅ *You claimed this.* The requester has been told." if mine else f"Claimed by {_claimer(request)}."), False
    if request.status == RequestStatus.CANCELLED.value:
        return "🚫 Cancelled by the requester. Nothing to do.", False
    if request.status == RequestStatus.UNFILLED.value:
        return "⌛ Closed: nobody claimed it in time.", False
    if state.response == Response.DECLINE.value:
        return "You declined this. Changed your mind? It is still open.", True
    return "Can you take it? The first expert to claim it gets it.", True


def offer_buttons(request: Request, state: OfferState, open_actions: bool) -> ActionsBlock | None:
    value = request_value(request.id)
    mine = request.claimed_by is not None and request.claimed_by.slack_user_id == state.viewer_user_id
    if request.status == RequestStatus.CLAIMED.value and not mine and state.cover is not None:
        return ActionsBlock(block_id=BlockId.OFFER_ACTIONS, elements=[
            ButtonElement(text=plain("Take it over"), action_id=Action.TAKE_OVER, value=value, style="primary")])
    if request.status == RequestStatus.CLAIMED.value and mine:
        cover = [] if state.cover is not None else [
            ButtonElement(text=plain("Ask for cover"), action_id=Action.ASK_COVER, value=value)]
        return ActionsBlock(
            block_id=BlockId.OFFER_ACTIONS,
            elements=[
                *cover,
                ButtonElement(
                    text=plain("Release"),
                    action_id=Action.RELEASE,
                    value=value,
                    confirm=ConfirmObject(
                        title=plain("Release this request?"),
                        text=md("It reopens and the other experts are asked again."),
                        confirm=plain("Release"),
                        deny=plain("Keep it"),
                    ),
                )
            ],
        )
    if not open_actions:
        return None
    elements = [ButtonElement(text=plain("Claim"), action_id=Action.CLAIM, value=value, style="primary")]
    if state.response != Response.DECLINE.value and state.viewer_user_id is not None:
        elements.append(ButtonElement(text=plain("Decline"), action_id=Action.DECLINE, value=value))
    return ActionsBlock(block_id=BlockId.OFFER_ACTIONS, elements=elements)


def brief_blocks(request: Request, state: OfferState) -> list[Block]:
    if state.brief is not None:
        return brief_ui.summary_blocks(request, state.brief)
    if request.needs_brief and request.status in (RequestStatus.OPEN.value, RequestStatus.CLAIMED.value):
        return [context("⚠️ *Brief missing*: the AE has not yet said what the customer wants to see, who attends "
                        "or what they will decide. You will get it here as soon as it exists.")]
    return []


def render(request: Request, state: OfferState, tz: str | None) -> tuple[str, list[dict]]:
    """The DM to one expert (``state.viewer_user_id``), in their timezone."""
    line, open_actions = state_line(request, state)
    # <!date> shows the time in the reader's own Slack timezone even before users.info told us
    # theirs; the fallback text uses the timezone we know.
    blocks: list[Block] = summary_blocks(request, tz, per_reader=True)
    blocks += brief_blocks(request, state)
    blocks.append(DividerBlock())
    blocks.append(SectionBlock(text=md(line)))
    buttons = offer_buttons(request, state, open_actions)
    if buttons:
        blocks.append(buttons)
    text = f"{kind_label(request.kind)} request #{request.id} for {escape(request.account[:100])}: {line}"
    return text, as_dicts(blocks)


def render_channel_post(request: Request, fallback_tz: str | None, brief: Brief | None = None,
                        cover: Cover | None = None) -> tuple[str, list[dict]]:
    """The post in PRESALES_EXPERTS_CHANNEL: every reader sees times in their own zone."""
    state = OfferState(viewer_user_id=None, brief=brief, cover=cover)
    line, open_actions = state_line(request, state)
    blocks: list[Block] = summary_blocks(request, fallback_tz, per_reader=True)
    blocks += brief_blocks(request, state)
    blocks.append(context(line if not open_actions else "Open to every expert with one of these skills."))
    buttons = offer_buttons(request, state, open_actions)
    if buttons:
        blocks.append(buttons)
    text = f"{kind_label(request.kind)} request #{request.id} for {escape(request.account[:100])}"
    return text, as_dicts(blocks)
