"""Fetching the web page someone linked, without letting the link reach what it shouldn't.

`fetch_page` gets one http(s) page: at most `max_redirects` redirects, followed by hand; at most
`max_bytes` of body, streamed and stopped at the cap; everything (lookups, connects, redirects, body)
within `timeout` seconds; only text/html, application/xhtml+xml or text/plain. Anything else raises
`FetchRefused` with one sentence for the person who gave the link.

Server-side request forgery: every host name is resolved by `PublicAddressResolver`, which checks
each address it found and hands aiohttp only those, so the socket connects to exactly the address
that was checked (no second lookup). aiohttp never asks the resolver about an IP literal
(`TCPConnector._resolve_host`), so `fetch_page` checks those itself. Both checks run again at every
redirect. `allow_private` (the `ALLOW_PRIVATE_URLS` setting, for tests and intranets) lifts only the
address rule.

Decisions: any port is allowed (the address rule is what keeps the link out of private networks,
and public pages live on :8080 too); a response without a Content-Type is refused rather than
sniffed; a page's bytes are decoded by its byte order mark, its header's charset, its
`<meta charset>`, else as UTF-8, with undecodable bytes replaced.

`article_from_page` turns a fetched page into a `CleanArticle` with the existing cleaning.
"""

from __future__ import annotations

import asyncio
import codecs
import http
import ipaddress
import logging
import os
import re
import socket
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from index.cleaning import CleanArticle, clean_article, clean_html

log = logging.getLogger(__name__)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
AddressPolicy = Callable[[IPAddress], bool]

MAX_PAGE_BYTES = 5 * 1024 * 1024  # as for an article file (index/articles.py)
# What a page may be; the value says which cleaning reads it.
PAGE_TYPES = {"text/html": "html", "application/xhtml+xml": "html", "text/plain": "text"}
# How a refused type is named to the person who gave the link.
_TYPE_NAMES = {
    "application/pdf": "a PDF",
    "application/json": "JSON data",
    "application/octet-stream": "a download",
    "application/zip": "a zip archive",
    "image": "an image",
    "video": "a video",
    "audio": "audio",
}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_USER_AGENT = "article-qa-bot (fetches one page a user linked)"
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_BYTE_ORDER_MARKS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16: its little-endian mark begins with UTF-16's
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta\s[^>]*charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
# Browsers read a page labelled Latin-1 or ASCII as windows-1252 (the WHATWG encoding standard).
_AS_BROWSERS_READ = {"latin-1": "cp1252", "iso8859-1": "cp1252", "ascii": "cp1252"}
NO_TEXT = "no article text found on the page (it may be written by a script)"


class FetchRefused(Exception):
    """The link can't be added; the message is one sentence for the person who gave it."""


class AddressRefused(FetchRefused):
    """The link's host is, or resolves to, an address that is not public."""

    def __init__(self, host: str, address: IPAddress, *, redirected: bool = False) -> None:
        self.host, self.address = host, address
        if not redirected:
            where = "points to"
        elif ip_literal(host) is None:
            where = f"redirects to {_shown(host)}, which is"
        else:
            where = "redirects to"
        super().__init__(
            f"that link {where} {_article(address_kind(address))} address ({_written(address)}); "
            "only public web pages can be added"
        )


@dataclass(frozen=True)
class FetchedPage:
    """A page as the server sent it, after redirects."""

    url: str  # the final URL, after redirects
    requested_url: str
    content_type: str
    charset: str | None
    body: bytes


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries and would reach (IPv4-mapped, 6to4, Teredo, NAT64)."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # the client's address (the server's is the relay)
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_public_address(address: IPAddress) -> bool:
    """Whether `address` is on the public internet: not loopback, private (CGNAT included),
    link-local, multicast, reserved or unspecified, nor an IPv6 address that carries such a one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public_address(address.ipv4_mapped)  # the IPv4 address is the one reached
    if (
        not address.is_global
        or address.is_multicast  # ipaddress calls global-scope multicast global
        or address.is_reserved
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address.is_site_local)  # is_global says yes
    ):
        return False
    inner = embedded_ipv4(address)
    return inner is None or is_public_address(inner)


def address_kind(address: IPAddress) -> str:
    """A word for why an address is not public, for the refusal."""
    address = embedded_ipv4(address) or address
    for kind in ("loopback", "link-local", "multicast", "unspecified", "private", "reserved"):
        if getattr(address, f"is_{kind.replace('-', '_')}"):
            return kind
    return "non-public"


def _written(address: IPAddress) -> str:
    """An address as people write it: an IPv4-mapped one with its IPv4 part dotted."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def _article(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"


def ip_literal(host: str) -> IPAddress | None:
    """The address when `host` is written as one (an IPv6 one with or without brackets)."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


class PublicAddressResolver(AbstractResolver):
    """Resolves a host name and returns its addresses only if every one is allowed; raises
    `AddressRefused` otherwise, before anything connects."""

    def __init__(
        self,
        *,
        allow_private: bool = False,
        is_allowed: AddressPolicy = is_public_address,
        resolver: AbstractResolver | None = None,
    ) -> None:
        self.allow_private = allow_private
        self._is_allowed = is_allowed
        self._resolver = resolver

    def check(self, host: str, address: IPAddress) -> None:
        """Raise `AddressRefused` unless the link may reach `address`."""
        if not self.allow_private and not self._is_allowed(address):
            raise AddressRefused(host, address)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self._resolver is None:  # made here: ThreadedResolver wants the running loop
            self._resolver = aiohttp.ThreadedResolver()
        results = await self._resolver.resolve(host, port, family)
        if not results:
            raise OSError(f"{host} has no address")
        for result in results:
            # A name with any address that is not public is refused whole: returning only its
            # public ones would still let the link's owner aim it (split DNS, rebinding).
            self.check(host, ipaddress.ip_address(result["host"]))
        # These very strings become the socket's address (TCPConnector._convert_hosts_to_addr_infos).
        return results

    async def close(self) -> None:
        if self._resolver is not None:
            await self._resolver.close()


_resolvers: weakref.WeakKeyDictionary[aiohttp.ClientSession, PublicAddressResolver] = (
    weakref.WeakKeyDictionary()
)


def page_session(
    resolver: PublicAddressResolver | None = None, *, timeout: float = 10.0
) -> aiohttp.ClientSession:
    """A session for `fetch_page`: every lookup through `resolver`, no DNS cache, no proxy from the
    environment, no cookies kept between pages. Call it inside the event loop; close it after."""
    resolver = resolver or PublicAddressResolver()
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False),
        trust_env=False,  # a proxy would resolve the host itself, past the check
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={
            "User-Agent": _USER_AGENT,
            "Accept": "text/html, application/xhtml+xml, text/plain;q=0.9",
        },
        timeout=aiohttp.ClientTimeout(total=timeout),
    )
    _resolvers[session] = resolver
    return session


async def fetch_page(
    url: str,
    *,
    allow_private: bool = False,
    timeout: float = 10.0,  # noqa: ASYNC109 (one deadline over every hop, applied inside)
    max_bytes: int = MAX_PAGE_BYTES,
    max_redirects: int = 3,
    session: aiohttp.ClientSession | None = None,
) -> FetchedPage:
    """The page at `url` (http or https), or `FetchRefused` saying why not. A given `session` must
    come from `page_session`; its resolver then decides which addresses are allowed."""
    if session is None:
        async with page_session(PublicAddressResolver(allow_private=allow_private), timeout=timeout) as own:
            return await fetch_page(
                url, timeout=timeout, max_bytes=max_bytes, max_redirects=max_redirects, session=own
            )
    resolver = _resolvers.get(session)
    if resolver is None:
        raise ValueError("fetch_page needs a session made by page_session (its resolver checks addresses)")
    if allow_private and not resolver.allow_private:
        raise ValueError("allow_private is the session's: give page_session a PublicAddressResolver with it")
    try:
        async with asyncio.timeout(timeout):
            return await _follow(url, resolver, session, max_bytes, max_redirects)
    except TimeoutError:  # asyncio's deadline, or aiohttp's own (its ServerTimeoutError is one)
        raise FetchRefused(f"the page took longer than {timeout:g} s") from None


async def _follow(
    url: str,
    resolver: PublicAddressResolver,
    session: aiohttp.ClientSession,
    max_bytes: int,
    max_redirects: int,
) -> FetchedPage:
    current = _parse(url)
    for hop in range(max_redirects + 1):
        _check_url(current, resolver, redirected=hop > 0)
        try:
            async with session.get(current, allow_redirects=False) as response:
                if response.status in _REDIRECTS:
                    current = _redirect_target(response)
                    log.debug("%s redirects to %s", response.url, current)
                    continue
                return await _page(response, url, max_bytes)
        except AddressRefused as refused:
            if hop == 0:
                raise
            raise AddressRefused(refused.host, refused.address, redirected=True) from None
        except (FetchRefused, TimeoutError):  # aiohttp's timeouts are ClientErrors too
            raise
        except aiohttp.ClientConnectorDNSError:
            raise FetchRefused(f"could not reach {_shown(current.host)}: the name was not found") from None
        except aiohttp.ClientConnectorCertificateError:
            raise FetchRefused(
                f"could not reach {_shown(current.host)}: its certificate is not valid"
            ) from None
        except aiohttp.ClientConnectorError as error:
            errno = error.os_error.errno
            reason = os.strerror(errno) if errno else "the connection failed"
            raise FetchRefused(f"could not reach {_shown(current.host)}: {reason.lower()}") from None
        except aiohttp.InvalidURL:
            raise FetchRefused("that is not a valid link") from None
        except (aiohttp.ClientPayloadError, aiohttp.ServerDisconnectedError):
            raise FetchRefused("the server closed the connection before the page was complete") from None
        except aiohttp.ClientResponseError as error:
            raise FetchRefused(f"the server's answer could not be read ({error.message})"[:200]) from None
        except aiohttp.ClientError as error:
            raise FetchRefused(f"could not fetch the page ({type(error).__name__})") from None
    raise FetchRefused(f"too many redirects (more than {max_redirects})")


def _shown(host: str | None) -> str:
    """A host as a refusal names it: a hostile link's host can be long."""
    host = host or "the server"
    return host if len(host) <= 80 else host[:79] + "…"


def _parse(url: str) -> URL:
    try:
        parsed = URL(url.strip())
    except (ValueError, TypeError):
        raise FetchRefused("that is not a valid link") from None
    if parsed.scheme not in ("http", "https"):
        raise FetchRefused("only http and https links can be added")
    return parsed


def _check_url(url: URL, resolver: PublicAddressResolver, *, redirected: bool) -> None:
    """Refuse a link (or a redirect's target) before anything connects to it."""
    if url.scheme not in ("http", "https"):
        raise FetchRefused(
            f"that link redirects to a {url.scheme}: link; only http and https pages can be added"
            if redirected
            else "only http and https links can be added"
        )
    if url.user is not None or url.password is not None:
        raise FetchRefused("links with a user name or password can't be added")
    host = url.raw_host
    if not host:
        raise FetchRefused("that is not a valid link")
    address = ip_literal(host)
    if address is not None:  # aiohttp connects to a literal without asking the resolver
        try:
            resolver.check(host, address)
        except AddressRefused:
            if not redirected:
                raise
            raise AddressRefused(host, address, redirected=True) from None


def _redirect_target(response: aiohttp.ClientResponse) -> URL:
    location = response.headers.get("Location", "").strip()
    if not location:
        raise FetchRefused("the server redirected without saying where")
    try:
        return response.url.join(URL(location))  # a relative Location is relative to this hop
    except (ValueError, TypeError):
        raise FetchRefused("the server redirected to a link that is not valid") from None


def _type_name(content_type: str) -> str:
    return _TYPE_NAMES.get(content_type) or _TYPE_NAMES.get(content_type.split("/")[0], "a file")


async def _page(response: aiohttp.ClientResponse, requested: str, max_bytes: int) -> FetchedPage:
    """The body of a final response, refused for its status, type or size."""
    if not 200 <= response.status < 300:
        try:
            phrase = http.HTTPStatus(response.status).phrase
        except ValueError:  # a status the standard doesn't name; the server's own reason could be anything
            phrase = ""
        raise FetchRefused(f"the server answered {response.status} {phrase}".rstrip())
    if "Content-Type" not in response.headers:
        raise FetchRefused("the server did not say what kind of page it is (no Content-Type)")
    content_type = response.content_type.lower()
    if content_type not in PAGE_TYPES:
        raise FetchRefused(
            f"the page is {_type_name(content_type)} ({content_type[:60]}), not a web page or text"
        )
    limit = f"{max_bytes / 1_048_576:g} MB"
    if response.content_length is not None and response.content_length > max_bytes:
        raise FetchRefused(f"the page is over the {limit} limit")
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > max_bytes:
            response.close()  # drop the connection rather than read the rest
            raise FetchRefused(f"the page is over the {limit} limit")
    return FetchedPage(
        url=str(response.url),
        requested_url=requested,
        content_type=content_type,
        charset=response.charset,
        body=bytes(body),
    )


def _codec(name: str | bytes | None) -> str | None:
    """The Python codec for a charset label, or None for a label it doesn't know."""
    if isinstance(name, bytes):
        name = name.decode("ascii", "replace")
    if not name:
        return None
    try:
        info = codecs.lookup(name.strip())
    except LookupError:
        return None
    if not getattr(info, "_is_text_encoding", True):  # base64, rot13, hex…: not a text's charset
        return None
    return _AS_BROWSERS_READ.get(info.name, info.name)


def page_text(page: FetchedPage) -> str:
    """The page's text: decoded by its byte order mark, else its Content-Type charset, else (HTML)
    its `<meta charset>`, else UTF-8; bytes that don't decode become U+FFFD."""
    body = page.body
    for mark, codec in _BYTE_ORDER_MARKS:
        if body.startswith(mark):
            return body.decode(codec, errors="replace")
    codec = _codec(page.charset)
    if codec is None and PAGE_TYPES.get(page.content_type) == "html":
        meta = _META_CHARSET.search(body[:4096])
        codec = _codec(meta.group(1)) if meta else None
    return body.decode(codec or "utf-8", errors="replace")


def article_from_page(page: FetchedPage) -> CleanArticle:
    """The article in a fetched page, cleaned as an article file would be; raises `FetchRefused`
    when there is no prose in it (an empty page, or one whose text a script writes)."""
    text = page_text(page)
    # clean_article still recognises HTML served as text/plain
    html = PAGE_TYPES.get(page.content_type) == "html"
    article = clean_html(text) if html else clean_article(text)
    if not article.paragraphs and not article.captions:
        raise FetchRefused(NO_TEXT)
    return article
