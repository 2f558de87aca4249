"""/article add (a file, a link), list and remove (with its confirm button), and /ask of one article:
the product's bot against the stand-in, a real local web server for links, and a question answered
from the new article in the same test."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from stand_in import DiscordStandIn, Upload
from traffic import DOWNLOAD, ORIGINAL, answer_embed, button_ids

from bot import rendering
from bot.permissions import ARTICLES_NOT_ALLOWED
from index.settings import IndexSettings

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]

AQUARIUM = """Springfield Opens Its New Aquarium

The city aquarium opened on Saturday with a tank of sharks and a coral reef exhibit.

Tickets for the aquarium cost twelve dollars for adults, the director said.

The aquarium expects two hundred thousand visitors in its first year.
"""
TITLE = "Springfield Opens Its New Aquarium"
QUESTION = "How much do aquarium tickets cost?"
PAGE = f"""<!doctype html><html><head><title>{TITLE} | Springfield News</title></head><body>
<nav><a href="/">Home</a> <a href="/sports">Sports</a></nav>
<article><h1>{TITLE}</h1>
<p>The city aquarium opened on Saturday with a tank of sharks and a coral reef exhibit.</p>
<p>Tickets for the aquarium cost twelve dollars for adults, the director said.</p>
<p>The aquarium expects two hundred thousand visitors in its first year.</p>
</article><footer>© 2026 Springfield News. All rights reserved.</footer></body></html>"""


@pytest.fixture
async def news_site() -> AsyncIterator[tuple[str, list[str]]]:
    """A web server on 127.0.0.1 serving the aquarium story at /aquarium; the paths it was asked for."""
    asked: list[str] = []

    async def story(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.Response(text=PAGE, content_type="text/html")

    app = web.Application()
    app.router.add_get("/aquarium", story)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/aquarium", asked
    finally:
        await runner.cleanup()


def stored_articles(settings: IndexSettings) -> list[str]:
    return sorted(path.name for path in settings.articles_dir.iterdir() if not path.name.startswith("."))


async def ask(stand_in: DiscordStandIn, question: str, **options: str) -> dict:
    sent = await stand_in.slash_command("ask", {"question": question, **options}, user="rita")
    await stand_in.wait_for_answer(sent)
    return answer_embed(sent)


async def add(stand_in: DiscordStandIn, user: str = "olivia", **options: object) -> str:
    sent = await stand_in.slash_command("article add", options, user=user)
    await stand_in.wait_for_answer(sent, timeout=30)
    assert sent.ephemeral
    return sent.original["content"]


async def test_an_attached_file_is_added_and_answers_at_once(
    stand_in: DiscordStandIn, start_article_bot, settings: IndexSettings
) -> None:
    bot = await start_article_bot(env={"ASK_COOLDOWN_SECONDS": "0"})
    shipped = stored_articles(settings)
    before = await ask(stand_in, QUESTION)
    assert "twelve dollars" not in str(before)

    done = await add(stand_in, file=Upload("aquarium.txt", AQUARIUM.encode()))

    assert done.startswith(f"Added “{TITLE}”: 3 passages, answerable now (in ")
    assert len(stand_in.requests_to("GET", DOWNLOAD)) == 1
    [added] = sorted(set(stored_articles(settings)) - set(shipped))
    text = (settings.articles_dir / added).read_text()
    assert text.startswith("---\n")  # front matter, then the article
    assert f'title: "{TITLE}"' in text
    assert "twelve dollars" in answer_embed_text(await ask(stand_in, QUESTION))
    assert TITLE in [article.title for article in bot.retriever.info.articles]


def answer_embed_text(embed: dict) -> str:
    return " ".join([embed.get("description") or "", *(f["value"] for f in embed.get("fields", []))])


async def test_a_link_is_fetched_added_and_cited(
    stand_in: DiscordStandIn, start_article_bot, settings: IndexSettings, news_site
) -> None:
    url, asked = news_site
    await start_article_bot(env={"ALLOW_PRIVATE_URLS": "true", "ASK_COOLDOWN_SECONDS": "0"})

    done = await add(stand_in, url=url)

    assert done.startswith(f"Added “{TITLE}”: 3 passages"), done
    assert asked == ["/aquarium"]
    [added] = [name for name in stored_articles(settings) if "aquarium" in name]
    assert f"source: {url}\n" in (settings.articles_dir / added).read_text()
    answer = await ask(stand_in, QUESTION)
    assert "twelve dollars" in answer_embed_text(answer)
    assert "All rights reserved" not in answer_embed_text(answer)


async def test_a_link_to_this_machine_is_refused_without_allow_private_urls(
    stand_in: DiscordStandIn, start_article_bot, settings: IndexSettings, news_site
) -> None:
    url, asked = news_site
    await start_article_bot()
    before = stored_articles(settings)

    refused = await add(stand_in, url=url)

    assert refused.startswith("Couldn't add the article: ")
    assert "127.0.0.1" in refused
    assert refused.endswith("Nothing was added.")
    assert asked == []  # never connected
    assert stored_articles(settings) == before


@pytest.mark.parametrize("user", ["rita", "adam"])  # a member; a server admin (Manage Server)
async def test_adding_is_refused_to_everyone_but_the_bots_admins(
    stand_in: DiscordStandIn, start_article_bot, settings: IndexSettings, user: str
) -> None:
    await start_article_bot()
    before = stored_articles(settings)

    sent = await stand_in.slash_command(
        "article add", {"file": Upload("a.txt", AQUARIUM.encode())}, user=user
    )
    await stand_in.wait_for_answer(sent)

    assert (sent.ephemeral, sent.original["content"]) == (True, ARTICLES_NOT_ALLOWED)
    assert stand_in.requests_to("GET", DOWNLOAD) == []
    assert stored_articles(settings) == before


@pytest.mark.parametrize(
    ("upload", "says"),
    [
        (Upload("story.pdf", b"%PDF-1.7"), "story.pdf: not an article file"),
        (Upload("huge.txt", b"big", size=60_000_000), "huge.txt: 57.2 MB is over the 5 MB limit"),
        (Upload("empty.txt", b"   \n"), "empty.txt: the file is empty"),
    ],
    ids=["pdf", "too-big", "empty"],
)
async def test_a_file_that_is_no_article_is_refused_and_nothing_is_written(
    stand_in: DiscordStandIn, start_article_bot, settings: IndexSettings, upload: Upload, says: str
) -> None:
    await start_article_bot()
    before = stored_articles(settings)

    refused = await add(stand_in, file=upload)

    assert refused.startswith(f"Couldn't add the article: {says}"), refused
    assert stored_articles(settings) == before
    assert not any(path.name.startswith(".") for path in settings.articles_dir.iterdir())


async def test_list_shows_every_article_to_anyone(
    stand_in: DiscordStandIn, start_article_bot, settings: IndexSettings
) -> None:
    await start_article_bot()
    await add(stand_in, file=Upload("aquarium.txt", AQUARIUM.encode()))

    sent = await stand_in.slash_command("article list", {}, user="rita")
    await stand_in.wait_for_answer(sent)

    assert sent.ephemeral
    [embed] = sent.original["embeds"]
    assert embed["title"] == "Articles (2)"
    assert "Philadelphia To Stop Giving ICE" in embed["description"]
    assert f"{TITLE} — 3 passages, added <t:" in embed["description"]


async def test_ask_of_one_article_offers_titles_as_typed_and_answers_from_it_alone(
    stand_in: DiscordStandIn, start_article_bot, settings: IndexSettings
) -> None:
    bot = await start_article_bot(env={"ASK_COOLDOWN_SECONDS": "0"})
    await add(stand_in, file=Upload("aquarium.txt", AQUARIUM.encode()))

    typing = await stand_in.autocomplete("ask", {"question": QUESTION, "article": "aqua"}, focused="article")
    await stand_in.wait_for_answer(typing)
    [choice] = typing.choices
    assert choice["name"] == TITLE

    answer = await ask(stand_in, QUESTION, article=choice["value"])
    assert "twelve dollars" in answer_embed_text(answer)
    shipped = next(a.source for a in bot.retriever.info.articles if a.title != TITLE)
    elsewhere = await ask(stand_in, QUESTION, article=shipped)
    assert "twelve dollars" not in answer_embed_text(elsewhere)
    assert "doesn't seem to cover" in answer_embed_text(elsewhere)


async def test_remove_asks_to_confirm_then_the_article_no_longer_answers(
    stand_in: DiscordStandIn, start_article_bot, settings: IndexSettings
) -> None:
    await start_article_bot(env={"ASK_COOLDOWN_SECONDS": "0"})
    await add(stand_in, file=Upload("aquarium.txt", AQUARIUM.encode()))
    added = stored_articles(settings)

    typing = await stand_in.autocomplete(
        "article remove", {"article": "spring"}, focused="article", user="olivia"
    )
    await stand_in.wait_for_answer(typing)
    [choice] = typing.choices
    sent = await stand_in.slash_command("article remove", {"article": choice["value"]}, user="olivia")
    await stand_in.wait_for_answer(sent)
    assert sent.ephemeral
    assert sent.original["content"].startswith(f"Remove “{TITLE}”?")
    remove, _ = button_ids(sent.original)

    other = await stand_in.press_button(sent.original, remove, user="rita")  # not the admin who asked
    await stand_in.wait_for_answer(other)
    assert (other.ephemeral, other.original["content"]) == (True, rendering.NOT_YOUR_CONFIRMATION)
    assert stored_articles(settings) == added

    since = len(stand_in.requests)
    pressed = await stand_in.press_button(sent.original, remove, user="olivia")
    await stand_in.wait_for_answer(pressed)
    assert pressed.original["content"] == rendering.REMOVING  # the buttons gone at once
    assert pressed.original["components"] == []
    done = await stand_in.wait_for_request("PATCH", ORIGINAL, since=since, timeout=30)
    assert done.body["content"].startswith(f"Removed “{TITLE}”; the index no longer answers from it")
    assert len(stored_articles(settings)) == len(added) - 1
    assert "twelve dollars" not in answer_embed_text(await ask(stand_in, QUESTION))


async def test_a_cancelled_removal_removes_nothing(
    stand_in: DiscordStandIn, start_article_bot, settings: IndexSettings
) -> None:
    await start_article_bot()
    await add(stand_in, file=Upload("aquarium.txt", AQUARIUM.encode()))
    added = stored_articles(settings)

    sent = await stand_in.slash_command("article remove", {"article": TITLE}, user="olivia")
    await stand_in.wait_for_answer(sent)
    _, cancel = button_ids(sent.original)
    pressed = await stand_in.press_button(sent.original, cancel, user="olivia")
    await stand_in.wait_for_answer(pressed)

    assert stored_articles(settings) == added


async def test_an_article_stored_whose_rebuild_fails_is_said_to_be_stored_not_answerable(
    stand_in: DiscordStandIn, start_article_bot, settings: IndexSettings, bot_errors, monkeypatch
) -> None:
    bot = await start_article_bot()

    async def full_disk() -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bot.retriever, "reindex", full_disk)
    said = await add(stand_in, file=Upload("aquarium.txt", AQUARIUM.encode()))

    assert said.startswith(f"Stored “{TITLE}” in the articles folder, but the index wasn't rebuilt: ")
    assert "No space left on device" in said
    assert said.endswith("run /reindex once that is fixed.")
    assert any("aquarium" in name for name in stored_articles(settings))  # it is there, as said
    [logged] = bot_errors
    assert logged.getMessage() == "article added, but the rebuild failed"
    bot_errors.clear()


async def test_an_unanswered_removal_takes_its_buttons_away(
    stand_in: DiscordStandIn, start_article_bot, settings: IndexSettings, monkeypatch
) -> None:
    await start_article_bot()
    # the module the bot loaded (loading an extension imports it afresh)
    monkeypatch.setattr(sys.modules["bot.exts.articles._cog"], "CONFIRM_SECONDS", 0.2)
    await add(stand_in, file=Upload("aquarium.txt", AQUARIUM.encode()))
    added = stored_articles(settings)
    since = len(stand_in.requests)

    sent = await stand_in.slash_command("article remove", {"article": TITLE}, user="olivia")
    await stand_in.wait_for_answer(sent)
    edit = await stand_in.wait_for_request("PATCH", ORIGINAL, since=since)

    assert edit.body["content"] == rendering.REMOVE_TIMED_OUT
    assert edit.body["components"] == []
    assert stored_articles(settings) == added


async def test_an_attachment_with_a_very_long_name_is_added_by_its_title(
    stand_in: DiscordStandIn, start_article_bot, settings: IndexSettings
) -> None:
    await start_article_bot()
    done = await add(stand_in, file=Upload("é" * 200 + ".txt", AQUARIUM.encode()))
    assert done.startswith(f"Added “{TITLE}”")
