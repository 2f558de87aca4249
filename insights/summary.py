"""The insights report as plain text, for the terminal (`run_bot.py insights`)."""

from __future__ import annotations

from insights.report import CONFIDENCES, InsightsReport

LABELS = {"high": "answered (high)", "low": "maybe answered (low)", "none": "not covered (none)"}


def report_text(report: InsightsReport) -> str:
    """Totals and shares, the top unanswered groups, the lowest-rated answers, the busiest channels."""
    first, last = report.per_day[0].day, report.per_day[-1].day
    lines = [f"Last {report.days} days ({first} to {last}, UTC): {report.questions:,} questions"]
    if not report.questions:
        return "\n".join([*lines, "  none asked in these days"])
    for name in CONFIDENCES:
        count = report.by_confidence[name]
        lines.append(f"  {LABELS[name]:<22}{count:>9,}  {count / report.questions:6.1%}")
    lines.append(f"Feedback: {report.helpful:,} helpful, {report.not_helpful:,} not helpful")
    if report.unanswered:
        lines += ["", "What readers asked that the articles don't cover (grouped by meaning):"]
        for group in report.unanswered:
            lines.append(f"  {group.count:>6,}  {group.question}")
            lines += [f"          also: {example}" for example in group.examples]
    if report.lowest_rated:
        lines += ["", "Lowest-rated answers:"]
        for answer in report.lowest_rated:
            shown = _citation(answer.article, answer.paragraph)
            lines.append(f"  -{answer.not_helpful} +{answer.helpful}  {answer.question}  [{shown}]")
            lines += [f"          “{comment}”" for comment in answer.comments]
    if report.busiest_channels:
        lines += ["", "Busiest channels:"]
        for channel in report.busiest_channels:
            where = f"guild {channel.guild_id}, channel {channel.channel_id}" if channel.guild_id else "DM"
            lines.append(f"  {channel.questions:>6,}  {where}")
    return "\n".join(lines)


def _citation(article: str | None, paragraph: int | None) -> str:
    """Where a passage is, as answers cite it: a caption is "photo caption", paragraphs count from 1."""
    if article is None:
        return "no passage shown"
    return f"{article} · {'photo caption' if paragraph == 0 else f'¶{paragraph}'}"
