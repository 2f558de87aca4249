"""index/fetching.py against real HTTP servers on this machine: the pages a link may bring in, and the
hostile ones it must refuse (private addresses at any hop, too big, too slow, not a page, no text).

Every server here is on loopback, which the fetcher refuses; tests that need a "public" server map a
name like news.example to 127.0.0.2 through a fake DNS and an address rule that calls 127.0.0.2
public, so a redirect from it to 127.0.0.1 still meets the real rule.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer

from index.fetching import (
    NO_TEXT,
    FetchedPage,
    FetchRefused,
    IPAddress,
    PublicAddressResolver,
    article_from_page,
    fetch_page,
    is_public_address,
    page_session,
    page_text,
)
from index.settings import IndexSettings, SettingsError

MB = 1024 * 1024
TITLE = "River Authority Opens New Flood Barrier"
PARAGRAPHS = [
    f"The river authority said on Monday that section {n} of the new flood barrier had passed its "
    f"inspection, and that crews would move to the next stretch of the embankment within {n + 2} days."
    for n in range(1, 31)
]
NEWS_PAGE = f"""<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{TITLE} | Example News</title>
<meta property="og:title" content="{TITLE}"></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<article><h1>{TITLE}</h1>
{"".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS)}
</article><footer><p>Privacy policy</p></footer></body></html>"""
SCRIPT_PAGE = """<!DOCTYPE html><html><head><title>Story</title></head><body><div id="app"></div>
<script>document.write("<p>" + ["The council voted on Tuesday to close the old bridge for repairs",
"that will last until the end of the summer, officials said."].join(" ") + "</p>");</script>
</body></html>"""
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Site:
    """A running test server and every path it was asked for."""

    server: TestServer
    requests: list[str] = field(default_factory=list)

    def url(self, path: str = "/", host: str | None = None) -> str:
        port = self.server.port
        return f"http://{host or self.server.host}:{port}{path}"


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Site]]]:
    """Start a server on loopback whose routes are `{path: handler}`; all are closed after the test."""
    sites: list[Site] = []

    async def start(routes: dict[str, Handler], host: str = "127.0.0.1") -> Site:
        app = web.Application()
        site = Site(TestServer(app, host=host))

        @web.middleware
        async def count(request: web.Request, handler: Handler) -> web.StreamResponse:
            site.requests.append(request.path)
            return await handler(request)

        app.middlewares.append(count)
        for path, handler in routes.items():
            app.router.add_get(path, handler)
        await site.server.start_server()
        sites.append(site)
        return site

    yield start
    for site in sites:
        await site.server.close()


@pytest.fixture
async def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every address a socket of this event loop connects to."""
    loop = asyncio.get_running_loop()
    connect = loop.sock_connect
    seen: list[tuple[str, int]] = []

    async def spy(sock: socket.socket, address: tuple[str, int]) -> None:
        seen.append(address[:2])
        await connect(sock, address)

    monkeypatch.setattr(loop, "sock_connect", spy)
    return seen


class FakeDNS(AbstractResolver):
    """Answers for made-up names; an unknown name is not found."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if host not in self.names:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        address = self.names[host]
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=port,
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        pass


PUBLIC_STAND_IN = ipaddress.ip_address("127.0.0.2")


def public_or_stand_in(address: IPAddress) -> bool:
    """The real rule, except that 127.0.0.2 (the test's "public" server) counts as public."""
    return address == PUBLIC_STAND_IN or is_public_address(address)


def fake_internet(**names: str) -> aiohttp.ClientSession:
    """A `page_session` whose DNS knows only `names` and whose one public server is 127.0.0.2."""
    dns = FakeDNS({name.replace("_", "."): address for name, address in names.items()})
    return page_session(PublicAddressResolver(is_allowed=public_or_stand_in, resolver=dns))


def html(text: str = NEWS_PAGE, **headers: str) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(text=text, content_type="text/html", headers=headers)

    return handler


def redirect(location: str, status: int = 302) -> Handler:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": location})

    return handler


# --- a page that may be added -------------------------------------------------------------------


async def test_a_news_page_is_fetched_and_its_article_read(serve):
    site = await serve({"/story": html()})

    page = await fetch_page(site.url("/story"), allow_private=True)
    article = article_from_page(page)

    assert page.url == page.requested_url == site.url("/story")
    assert (page.content_type, page.charset) == ("text/html", "utf-8")
    assert article.title == TITLE
    assert list(article.paragraphs) == PARAGRAPHS


async def test_a_plain_text_page_is_accepted(serve):
    async def text(request: web.Request) -> web.Response:
        return web.Response(text=f"{TITLE}\n\n" + "\n\n".join(PARAGRAPHS), content_type="text/plain")

    site = await serve({"/story.txt": text})

    article = article_from_page(await fetch_page(site.url("/story.txt"), allow_private=True))

    assert article.title == TITLE
    assert len(article.paragraphs) == 30


# --- private addresses, at the link and at every redirect ---------------------------------------


@pytest.mark.parametrize(
    ("host", "refusal"),
    [
        ("127.0.0.1", "that link points to a loopback address (127.0.0.1)"),
        ("localhost", "that link points to a loopback address ("),  # the real resolver's answer
        ("[::ffff:127.0.0.1]", "that link points to a loopback address (::ffff:127.0.0.1)"),
        ("127.1", "that is not a valid link"),  # a legacy spelling of 127.0.0.1
        ("2130706433", "that is not a valid link"),
    ],
)
async def test_a_link_to_this_machine_is_refused_before_any_request(serve, connections, host, refusal):
    site = await serve({"/": html()})

    with pytest.raises(FetchRefused) as refused:
        await fetch_page(site.url("/", host=host))

    assert str(refused.value).startswith(refusal)
    assert str(refused.value).endswith("only public web pages can be added") or "valid" in refusal
    assert site.requests == []
    assert connections == []


async def test_a_name_that_resolves_to_a_private_address_is_refused_without_connecting(connections):
    async with fake_internet(intranet_example="10.0.0.5") as session:
        with pytest.raises(FetchRefused) as refused:
            await fetch_page("http://intranet.example/wiki", session=session)

    assert str(refused.value) == (
        "that link points to a private address (10.0.0.5); only public web pages can be added"
    )
    assert connections == []


async def test_allow_private_lifts_only_the_address_rule(serve):
    site = await serve({"/": html()})

    await fetch_page(site.url("/"), allow_private=True)
    with pytest.raises(FetchRefused, match="user name or password"):
        await fetch_page(site.url("/").replace("http://", "http://user:pw@"), allow_private=True)

    assert site.requests == ["/"]


@pytest.mark.parametrize(
    ("target", "refusal"),
    [
        ("http://127.0.0.1:{port}/admin", "that link redirects to a loopback address (127.0.0.1)"),
        (
            "http://[::ffff:127.0.0.1]:{port}/admin",
            "that link redirects to a loopback address (::ffff:127.0.0.1)",
        ),
        (
            "http://internal.example:{port}/admin",
            "that link redirects to internal.example, which is a loopback",
        ),
        (
            "http://metadata.example:{port}/admin",
            "that link redirects to metadata.example, which is a link-local",
        ),
    ],
)
async def test_a_redirect_to_a_private_address_is_refused_at_the_hop(serve, target, refusal):
    internal = await serve({"/admin": html()})
    public = await serve({"/story": redirect(target.format(port=internal.server.port))}, host="127.0.0.2")

    async with fake_internet(
        news_example="127.0.0.2", internal_example="127.0.0.1", metadata_example="169.254.169.254"
    ) as session:
        with pytest.raises(FetchRefused) as refused:
            await fetch_page(f"http://news.example:{public.server.port}/story", session=session)

    assert str(refused.value).startswith(refusal)
    assert str(refused.value).endswith("; only public web pages can be added")
    assert public.requests == ["/story"]
    assert internal.requests == []


async def test_a_public_looking_host_is_fetched_through_the_checked_address(serve, connections):
    site = await serve({"/story": html()}, host="127.0.0.2")

    async with fake_internet(news_example="127.0.0.2") as session:
        page = await fetch_page(f"http://news.example:{site.server.port}/story", session=session)

    assert page.url == f"http://news.example:{site.server.port}/story"
    assert connections == [("127.0.0.2", site.server.port)]


async def test_a_redirect_to_a_file_link_is_refused(serve):
    site = await serve({"/story": redirect("file:///etc/passwd")})

    with pytest.raises(FetchRefused) as refused:
        await fetch_page(site.url("/story"), allow_private=True)

    assert str(refused.value) == "that link redirects to a file: link; only http and https pages can be added"


@pytest.mark.parametrize(("redirects", "followed"), [(3, True), (4, False)])
async def test_three_redirects_are_followed_and_a_fourth_is_refused(serve, redirects, followed):
    async def absolute(request: web.Request) -> web.Response:
        return web.Response(status=307, headers={"Location": str(request.url.with_path("/hop2"))})

    # relative, absolute-path and absolute Locations; 301, 307 and 308
    routes: dict[str, Handler] = {f"/hop{n}": redirect(f"hop{n + 1}", 301) for n in range(redirects)}
    routes["/hop1"] = absolute
    routes["/hop2"] = redirect("/hop3", 308)
    routes[f"/hop{redirects}"] = html()
    site = await serve(routes)

    fetching = fetch_page(site.url("/hop0"), allow_private=True)
    if followed:
        page = await fetching
        assert page.url == site.url(f"/hop{redirects}")
        assert page.requested_url == site.url("/hop0")
        assert site.requests == [f"/hop{n}" for n in range(redirects + 1)]
    else:
        with pytest.raises(FetchRefused) as refused:
            await fetching
        assert str(refused.value) == "too many redirects (more than 3)"
        assert site.requests == ["/hop0", "/hop1", "/hop2", "/hop3"]


# --- links that are not web pages ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("link", "refusal"),
    [
        ("file:///etc/passwd", "only http and https links can be added"),
        ("ftp://127.0.0.1:{port}/", "only http and https links can be added"),
        ("data:text/html,<p>The council voted on Tuesday.</p>", "only http and https links can be added"),
        ("javascript:alert(1)", "only http and https links can be added"),
        ("http://user:pw@127.0.0.1:{port}/", "links with a user name or password can't be added"),
        ("http://:{port}/", "that is not a valid link"),
    ],
)
async def test_a_link_that_is_not_a_web_address_is_refused_and_nothing_is_opened(
    serve, connections, link, refusal
):
    site = await serve({"/": html()})

    with pytest.raises(FetchRefused) as refused:
        await fetch_page(link.format(port=site.server.port), allow_private=True)

    assert str(refused.value) == refusal
    assert connections == []


@pytest.mark.parametrize(
    ("content_type", "refusal"),
    [
        ("application/pdf", "the page is a PDF (application/pdf), not a web page or text"),
        ("image/png", "the page is an image (image/png), not a web page or text"),
        ("application/x-msdownload", "the page is a file (application/x-msdownload), not a web page or text"),
    ],
)
async def test_a_page_of_another_type_is_refused(serve, content_type, refusal):
    async def document(request: web.Request) -> web.Response:
        return web.Response(body=b"%PDF-1.7 " * 100, content_type=content_type)

    site = await serve({"/report": document})

    with pytest.raises(FetchRefused) as refused:
        await fetch_page(site.url("/report"), allow_private=True)

    assert str(refused.value) == refusal


async def test_a_page_without_a_content_type_is_refused():
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        body = NEWS_PAGE.encode()
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(FetchRefused) as refused:
            await fetch_page(f"http://127.0.0.1:{port}/", allow_private=True)
    finally:
        server.close()
        await server.wait_closed()

    assert str(refused.value) == "the server did not say what kind of page it is (no Content-Type)"


@pytest.mark.parametrize(("status", "refusal"), [(404, "404 Not Found"), (500, "500 Internal Server Error")])
async def test_an_error_status_is_refused_with_the_status(serve, status, refusal):
    async def failing(request: web.Request) -> web.Response:
        return web.Response(status=status, text=NEWS_PAGE, content_type="text/html")

    site = await serve({"/story": failing})

    with pytest.raises(FetchRefused) as refused:
        await fetch_page(site.url("/story"), allow_private=True)

    assert str(refused.value) == f"the server answered {refusal}"


async def test_a_server_that_is_not_there_is_named(serve):
    site = await serve({})
    port = site.server.port
    await site.server.close()  # the port is now closed

    with pytest.raises(FetchRefused) as refused:
        await fetch_page(f"http://127.0.0.1:{port}/", allow_private=True)
    async with fake_internet() as session:
        with pytest.raises(FetchRefused) as unknown:
            await fetch_page("http://no-such-host.example/", session=session)

    assert str(refused.value) == "could not reach 127.0.0.1: connection refused"
    assert str(unknown.value) == "could not reach no-such-host.example: the name was not found"


# --- too big, too slow ---------------------------------------------------------------------------


async def test_a_50_mb_page_is_refused_after_reading_about_5_mb(serve):
    sent = 0

    async def huge(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(headers={"Content-Type": "text/html"})  # chunked: no length
        await response.prepare(request)
        chunk = b"<p>" + b"flood " * 10922 + b"</p>"  # 64 KB
        try:
            while sent < 50 * MB:
                await response.write(chunk)
                sent += len(chunk)
        except ConnectionError:  # the fetcher hung up
            pass
        return response

    site = await serve({"/huge": huge})

    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(FetchRefused) as refused:
            await fetch_page(site.url("/huge"), allow_private=True)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    await asyncio.sleep(0.1)  # let the server meet the closed connection

    assert str(refused.value) == "the page is over the 5 MB limit"
    assert peak < 16 * MB  # the body is held up to 5 MB and one chunk; 50 MB were on offer
    assert sent < 30 * MB  # what reached the socket buffers before the hang-up, not the rest
    assert time.monotonic() - started < 10


async def test_a_content_length_over_the_cap_is_refused_before_reading(serve):
    async def huge(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        response.content_length = 50 * MB
        await response.prepare(request)
        await response.write(b"<p>The council voted.</p>")
        await asyncio.sleep(5)  # a reader would wait here until its timeout
        return response

    site = await serve({"/huge": huge})

    with pytest.raises(FetchRefused) as refused:
        await fetch_page(site.url("/huge"), allow_private=True, timeout=3)

    assert str(refused.value) == "the page is over the 5 MB limit"


async def test_a_slow_drip_is_refused_at_the_timeout(serve):
    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        for _ in range(60):
            await response.write(b"x")
            await asyncio.sleep(0.5)
        return response

    site = await serve({"/drip": drip})

    started = time.monotonic()
    with pytest.raises(FetchRefused) as refused:
        await fetch_page(site.url("/drip"), allow_private=True, timeout=1.5)

    assert str(refused.value) == "the page took longer than 1.5 s"
    assert time.monotonic() - started < 4  # stopped at the deadline, not at the end of the drip


async def test_the_timeout_covers_every_redirect_together(serve):
    async def slow_redirect(request: web.Request) -> web.Response:
        await asyncio.sleep(0.4)
        return web.Response(status=302, headers={"Location": "/slow"})

    site = await serve({"/slow": slow_redirect})

    started = time.monotonic()
    with pytest.raises(FetchRefused) as refused:
        await fetch_page(site.url("/slow"), allow_private=True, timeout=1, max_redirects=10)

    assert str(refused.value) == "the page took longer than 1 s"
    assert time.monotonic() - started < 3


# --- pages without article text ------------------------------------------------------------------


@pytest.mark.parametrize(
    "page",
    [
        "",
        "<!DOCTYPE html><html><head><title>Nothing</title></head><body></body></html>",
        SCRIPT_PAGE,
        "<html><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav></body></html>",
    ],
)
async def test_a_page_without_article_text_is_refused(serve, page):
    site = await serve({"/story": html(page)})
    fetched = await fetch_page(site.url("/story"), allow_private=True)

    with pytest.raises(FetchRefused) as refused:
        article_from_page(fetched)

    assert (
        str(refused.value) == NO_TEXT == "no article text found on the page (it may be written by a script)"
    )


# --- decoding ------------------------------------------------------------------------------------


def page(body: bytes, charset: str | None = None, content_type: str = "text/html") -> FetchedPage:
    return FetchedPage("http://news.example/", "http://news.example/", content_type, charset, body)


def test_the_text_is_decoded_by_the_header_then_the_meta_charset_then_utf_8():
    cafe = "Le café où le maire a parlé"
    assert page_text(page(cafe.encode("cp1252"), "windows-1252")) == cafe
    assert page_text(page(cafe.encode("cp1252"), "iso-8859-1")) == cafe  # read as browsers do
    meta = f'<meta charset="windows-1252"><p>{cafe}</p>'
    assert page_text(page(meta.encode("cp1252"))) == meta
    equiv = f'<meta http-equiv="Content-Type" content="text/html; charset=koi8-r"><p>{"Мэр"}</p>'
    assert page_text(page(equiv.encode("koi8_r"))) == equiv
    assert page_text(page(cafe.encode("utf-8"))) == cafe
    assert page_text(page(cafe.encode("utf-16"), "iso-8859-1")) == cafe  # the byte order mark wins
    assert page_text(page(cafe.encode("utf-8"), "no-such-charset")) == cafe
    assert page_text(page(b"caf\xe9 au lait")) == "caf\ufffd au lait"


@pytest.mark.parametrize("charset", ["base64", "rot13", "hex", "zlib"])
def test_a_charset_that_is_no_text_encoding_is_read_as_utf_8_not_a_crash(charset: str):
    assert page_text(page("Le café".encode(), charset)) == "Le café"


# --- the address rule ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "127.8.9.10",
        "10.0.0.5",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # cloud metadata
        "100.64.0.1",  # carrier-grade NAT
        "0.0.0.0",
        "fec0::1",  # site-local IPv6 (deprecated, and called global by ipaddress)
        "224.0.0.1",
        "239.255.255.250",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "ff0e::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.5",
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2002:a00:5::1",  # 6to4 of 10.0.0.5
        "64:ff9b::a00:5",  # NAT64 of 10.0.0.5
    ],
)
def test_addresses_that_are_not_public_are_refused(address):
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["93.184.216.34", "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "2002:5db8:d822::1", "::ffff:8.8.8.8"],
)
def test_public_addresses_are_allowed(address):
    assert is_public_address(ipaddress.ip_address(address))


async def test_a_session_that_does_not_check_addresses_is_refused():
    async with aiohttp.ClientSession() as session:
        with pytest.raises(ValueError, match="page_session"):
            await fetch_page("http://news.example/", session=session)


# --- ALLOW_PRIVATE_URLS --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        (" Yes ", True),
        ("1", True),
        ("false", False),
        ("No", False),
        ("0", False),
        ("", False),
        (None, False),
    ],
)
def test_allow_private_urls_reads_true_and_false(value, expected):
    env = {} if value is None else {"ALLOW_PRIVATE_URLS": value}

    assert IndexSettings.from_env(env).allow_private_urls is expected


@pytest.mark.parametrize("value", ["maybe", "on", "2", "enabled"])
def test_allow_private_urls_names_a_value_that_is_not_true_or_false(value):
    with pytest.raises(SettingsError) as error:
        IndexSettings.from_env({"ALLOW_PRIVATE_URLS": value})

    assert str(error.value) == f"ALLOW_PRIVATE_URLS: {value!r} is not true or false (true/false, yes/no, 1/0)"
