"""Commands in team groups and private chats: /incident (the shared grammar), /ack, /resolve, /oncall, /help, /start."""

from __future__ import annotations

import logging
from dataclasses import replace

from telegram import Message, MessageEntity, Update, User
from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, filters

from bot.chat.cards import CardSync
from bot.chat.contract import Where
from bot.commands.execute import MentionResolver, execute
from bot.commands.grammar import UsageError, help_text, parse
from bot.commands.reply import Reply
from bot.container import Container
from bot.telegram import store
from bot.telegram.outbox import Outbox
from bot.telegram.render import escape, render_reply_html
from storage import linking, schedules
from storage.actors import Actor
from storage.errors import InvalidInput

log = logging.getLogger(__name__)

LINK_HELP = (
    "Your Telegram account is not linked to a Tocsin person yet. To link it, get a one-time code: "
    "run /incident link in Slack, or ask a Tocsin admin to run: tocsin link-code YOUR-EMAIL. "
    "Then send /start CODE to me in a private chat."
)
SHORTCUTS = (
    "Telegram shortcuts:\n"
    "  /ack <number>, /resolve <number> [note]\n"
    "  /oncall [team]: who is on call for this chat's team\n"
    "  /start <code>: link your Telegram account (in a private chat with me)\n"
    "  /help: this text"
)
ONLY_MESSAGES = filters.UpdateType.MESSAGE  # an edited "/ack 5" must not act twice


def actor_of(user: User) -> Actor:
    """The neutral identity: the Telegram user id decides, the name is for display."""
    return Actor(store.PLATFORM, str(user.id), user.full_name)


def _args(message: Message) -> str:
    """The raw text after the command word (keeps quotes and line breaks for the grammar)."""
    parts = (message.text or "").split(None, 1)
    return parts[1] if len(parts) > 1 else ""


def _thread(message: Message) -> int | None:
    return message.message_thread_id if message.is_topic_message else None


class Commands:
    """The command listeners; each one names the actor, calls the shared executor, and renders the reply."""

    def __init__(self, container: Container, outbox: Outbox, cards: CardSync) -> None:
        self.container, self.outbox, self.cards = container, outbox, cards

    def register(self, app: Application) -> None:
        for name, callback in (("incident", self.handle_incident_command), ("ack", self.handle_ack_command),
                               ("resolve", self.handle_resolve_command), ("oncall", self.handle_oncall_command),
                               ("help", self.handle_help_command), ("start", self.handle_start_command)):
            app.add_handler(CommandHandler(name, callback, filters=ONLY_MESSAGES))
        app.add_handler(MessageHandler(filters.COMMAND & filters.ChatType.PRIVATE & ONLY_MESSAGES,
                                       self.handle_unknown_command))

    async def say(self, message: Message, html_text: str) -> None:
        """Answer in the same chat (and topic), as a reply to the command."""
        await self.outbox.send(message.chat_id, html_text, thread_id=_thread(message), reply_to=message.message_id)

    async def answer(self, message: Message, reply: Reply) -> None:
        await self.say(message, escape(LINK_HELP) if reply.unlinked else render_reply_html(reply))

    async def run(self, update: Update, text: str) -> None:
        """Parse with the shared grammar, default the team to the chat's, execute, answer."""
        message = update.effective_message
        try:
            command = parse(text)
        except UsageError as exc:
            await self.answer(message, Reply.fail(str(exc)))
            return
        if command.name == "declare" and command.team is None and message.chat.type != "private":
            team = await store.team_for_chat(self.container.db, message.chat_id, _thread(message))
            command = replace(command, team=team.name) if team else command
        reply = await execute(self.container, actor_of(update.effective_user), command, self._mentions(message))
        if command.name == "show" and reply.incident is not None and not reply.error:
            thread = _thread(message)
            await self.cards.show(reply.incident, Where(str(message.chat_id), str(thread) if thread else None,
                                                        str(message.message_id)))
            return
        await self.answer(message, reply)

    def _mentions(self, message: Message) -> MentionResolver:
        """"assign 5 Alice" where Alice is a text mention: Telegram gave us her user id."""
        users = {text: entity.user for entity, text in message.parse_entities([MessageEntity.TEXT_MENTION]).items()}

        async def resolve(target: str) -> Actor | None:
            user = users.get(target) or users.get(target.lstrip("@"))
            return actor_of(user) if user else None
        return resolve

    async def handle_incident_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/incident <subcommand>: the same grammar as Slack."""
        await self.run(update, _args(update.effective_message))

    async def handle_ack_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/ack N: acknowledge incident N."""
        await self.run(update, f"ack {_args(update.effective_message)}")

    async def handle_resolve_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/resolve N [note]: resolve incident N."""
        await self.run(update, f"resolve {_args(update.effective_message)}")

    async def handle_help_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/help: the /incident grammar and the Telegram shortcuts."""
        await self.say(update.effective_message, escape(f"{help_text()}\n\n{SHORTCUTS}"))

    async def handle_unknown_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """An unknown /command in a private chat (groups may hold other bots' commands: stay quiet there)."""
        word = escape((update.effective_message.text or "").split()[0])
        await self.say(update.effective_message, f"I don't know {word}. Send /help for what I can do.")

    async def handle_oncall_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/oncall [team]: who is on call for the chat's team (its schedules, as ``/incident oncall``); a team
        without a schedule is answered with who can respond, by role."""
        message, db = update.effective_message, self.container.db
        name = _args(message).strip()
        team = await (store.team_named(db, name) if name else store.team_for_chat(db, message.chat_id,
                                                                                  _thread(message)))
        if team is None:
            why = f"There is no team {name!r}." if name else "This chat is not bound to a team."
            await self.say(message, escape(f"{why} Usage: /oncall <team>"))
            return
        async with db.sessions() as session:
            scheduled = any(s.team == team.name for s in await schedules.applied(session))
        if scheduled:
            await self.run(update, f"oncall {team.name}")
            return
        grouped = await store.roster(db, team.id)
        lines = [f"<b>Who can respond for {escape(team.name)}</b> (the team has no on-call schedule, so every "
                 "member with the responder role or above; schedules: docs/oncall.md):"]
        for role, names in grouped.items():
            lines.append(f"{escape(role.value.replace('_', ' ').capitalize())}: {escape(', '.join(names))}")
        if not grouped:
            lines.append("Nobody yet: add responders to the team in the config file.")
        await self.say(message, "\n".join(lines))

    async def _group_greeting(self, message: Message, sent_code: bool) -> str:
        """Which team this chat serves, or the ids to bind it with in the config file."""
        team = await store.team_for_chat(self.container.db, message.chat_id, _thread(message))
        topic = _thread(message)
        where = f"This chat serves team {team.name}." if team else (
            f"To post a team's incident cards here, set telegram_chat: {message.chat_id}"
            + (f" and telegram_topic: {topic}" if topic else "") + " for that team in the config file.")
        hint = "Send /start CODE to me in a private chat to link your account." if sent_code else SHORTCUTS
        return f"Tocsin is here. {where}\n{hint}"

    async def handle_start_command(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        """/start [code]: link this Telegram account, and let escalation send direct messages here."""
        message, user = update.effective_message, update.effective_user
        code, now = _args(message).strip(), self.container.clock.now()
        if message.chat.type != "private":
            await self.say(message, escape(await self._group_greeting(message, bool(code))))
            return
        if code:
            try:
                # a private chat with the bot: from now on it may write to them
                person = await linking.redeem(self.container.db, code, store.PLATFORM, str(user.id), now,
                                              reachable_at=now)
            except InvalidInput as exc:
                await self.say(message, escape(f"{exc}."))
                return
            await self.say(message, escape(f"Linked: you are {person.name}. Pages for you can now reach you here."))
            return
        name = await store.mark_started(self.container.db, user.id, now)
        text = f"Hello {name}: you are linked, and pages for you can reach you here. /help lists the commands." \
            if name else LINK_HELP
        await self.say(message, escape(text))
