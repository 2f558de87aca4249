"""A news article saved as a web page, with the page around it, and what ingestion should keep of it."""

from __future__ import annotations

TITLE = "Council Doubles Spending On City Parks"
CAPTION = "Children play in Riverside Park on Monday, a day before the council voted on the parks budget."
LATER_CAPTION = "Mayor Ana Ruiz speaks to reporters outside City Hall after the vote on Tuesday evening."
PARAGRAPHS = (
    "The city council approved a budget on Tuesday that doubles spending on public parks, after a "
    "debate that ran late into the night.",
    "Supporters said the money would repair playgrounds, plant trees and keep the pools open through "
    "September.",
    "Critics argued that the council should have spent more on libraries, which have cut their hours "
    "twice in three years.",
    "The mayor is expected to sign the budget next week, a spokeswoman said.",
)
# What the page holds besides the article; none of it may become a passage.
FURNITURE = (
    "We use cookies",
    "Accept all",
    "Politics",
    "By Jane Reporter",
    "Related stories",
    "Library hours cut",
    "Pool to reopen",
    "©",
    "All rights reserved",
    "Privacy policy",
)

NEWS_PAGE = f"""<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{TITLE} | Example News</title>
  <meta property="og:title" content="{TITLE}">
  <meta property="article:published_time" content="2024-03-05T09:30:00Z">
  <link rel="stylesheet" href="/site.css">
  <script>window.dataLayer = window.dataLayer || [];</script>
</head>
<body>
  <div id="cookie-banner" class="cookie-consent">
    <p>We use cookies to improve your experience on our site. By continuing to browse, you agree to
    our use of cookies.</p>
    <button>Accept all</button>
  </div>
  <header class="site-header">
    <a href="/" class="logo">Example News</a>
    <nav class="main-nav">
      <ul>
        <li><a href="/news">News</a></li>
        <li><a href="/politics">Politics</a></li>
        <li><a href="/sport">Sport</a></li>
      </ul>
    </nav>
  </header>
  <main>
    <article>
      <h1>{TITLE}</h1>
      <p class="byline">By Jane Reporter · March 5, 2024</p>
      <figure>
        <img src="/images/park.jpg" alt="A park">
        <figcaption>{CAPTION}</figcaption>
      </figure>
      <p>{PARAGRAPHS[0]}</p>
      <p>{PARAGRAPHS[1]}</p>
      <p>{PARAGRAPHS[2].replace("that the", "that <em>the</em>")}</p>
      <figure class="inline">
        <img src="/images/mayor.jpg" alt="The mayor">
        <figcaption>{LATER_CAPTION}</figcaption>
      </figure>
      <p>{PARAGRAPHS[3]}</p>
      <p>© 2024 Example News. All rights reserved.</p>
    </article>
    <div class="related-stories">
      <h2>Related stories</h2>
      <div class="card"><figure><img src="/a.jpg"><figcaption>Library hours cut again as costs rise across
        the city this year.</figcaption></figure></div>
      <div class="card"><figure><img src="/b.jpg"><figcaption>Pool to reopen this summer after two years of
        repairs at Riverside Park.</figcaption></figure></div>
    </div>
  </main>
  <footer class="site-footer">
    <p>© 2024 Example News. All rights reserved.</p>
    <p><a href="/privacy">Privacy policy</a> · <a href="/terms">Terms of use</a></p>
  </footer>
</body>
</html>
"""

# A single-page app before its script runs: a title and navigation, no article.
EMPTY_PAGE = """<!DOCTYPE html>
<html><head><title>Example News</title><script src="/app.js"></script></head>
<body><nav><a href="/">Home</a> <a href="/news">News</a></nav><div id="app"></div></body></html>
"""
