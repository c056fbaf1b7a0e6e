"""The announcement HTML cleaner: what an editor may paste, and every way of smuggling script that is removed."""

from __future__ import annotations

import pytest

from epigrid.publicity.sanitize import clean_html, html_text


def test_scripts_and_styles_go_with_their_content():
    dirty = "<p>全区<script>alert('x')</script>居民<style>p{display:none}</style></p><noscript>n</noscript>"
    assert clean_html(dirty) == "<p>全区居民</p>"


def test_event_handlers_and_unknown_attributes_are_removed():
    cleaned = clean_html(
        '<p onclick="steal()" style="color:red" class="x" id="y">文字</p>'
        '<img src="/announcements/files/7" onerror="alert(1)" onload="x()">'
        '<a href="/x" onmouseover="x()" target="_blank">链接</a>'
    )
    for bad in ("onclick", "onerror", "onload", "onmouseover", "style=", "class=", "id=", "target="):
        assert bad not in cleaned
    assert "<p>文字</p>" in cleaned
    assert '<img src="/announcements/files/7">' in cleaned


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "&#106;avascript:alert(1)",
        "&#x6A;&#x61;vascript:alert(1)",
        " java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "\x01javascript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "DATA:text/html,x",
        "vbscript:msgbox(1)",
        "VbScRiPt:msgbox(1)",
        "file:///etc/passwd",
    ],
)
def test_dangerous_link_schemes_are_removed_however_written(href):
    cleaned = clean_html(f'<a href="{href}">点我</a>')
    assert "href" not in cleaned
    assert "点我" in cleaned
    lowered = cleaned.lower()
    assert "script" not in lowered and "data:" not in lowered


@pytest.mark.parametrize(
    "src", ["javascript:alert(1)", "data:image/png;base64,iVBORw0KGgo=", "&#106;avascript:1"]
)
def test_dangerous_image_sources_are_removed(src):
    assert clean_html(f'<p>a<img src="{src}" alt="x">b</p>') == "<p>ab</p>"


@pytest.mark.parametrize(
    "src",
    [
        "https://tracker.example.com/pixel.gif",
        "http://example.com/announcements/files/3",
        "//evil.example.com/announcements/files/3",
        "/static/logo.png",
        "/announcements/files/3?x=1",
        "/announcements/files/3/../../admin",
    ],
)
def test_images_from_anywhere_but_our_attachments_are_dropped(src):
    assert clean_html(f'<p>前<img src="{src}" alt="图">后</p>') == "<p>前后</p>"


def test_full_url_of_this_site_is_cut_to_the_attachment_path(settings):
    settings.PUBLIC_URL = "https://epi.example.gov.cn"
    cleaned = clean_html('<img src="https://epi.example.gov.cn/announcements/files/12" alt="流程图">')
    assert cleaned == '<img src="/announcements/files/12" alt="流程图">'


def test_links_get_noopener_noreferrer_and_keep_allowed_schemes():
    cleaned = clean_html(
        '<a href="https://www.nhc.gov.cn/" title="国家卫健委">卫健委</a>'
        '<a href="mailto:fk@example.cn">邮件</a><a href="tel:12345">热线</a><a href="/ask/">咨询</a>'
    )
    assert cleaned.count('rel="noopener noreferrer"') == 4
    for kept in ('href="https://www.nhc.gov.cn/"', 'title="国家卫健委"', 'href="mailto:fk@example.cn"'):
        assert kept in cleaned
    assert 'href="tel:12345"' in cleaned and 'href="/ask/"' in cleaned


def test_allowed_markup_is_kept():
    html = (
        "<h2>一、范围</h2><h3>（一）</h3><h4>1.</h4><p><strong>重</strong><em>斜</em><b>粗</b><i>i</i><u>下</u></p>"
        "<ul><li>甲</li></ul><ol><li>乙</li></ol><blockquote>引</blockquote><hr>"
        '<table><thead><tr><th colspan="2">表头</th></tr></thead>'
        '<tbody><tr><td rowspan="2">格</td><td>格</td></tr></tbody></table>'
        '<figure><img src="/announcements/files/5" alt="图" width="640" height="480">'
        "<figcaption>说明</figcaption></figure><div><span>区</span></div>"
    )
    assert clean_html(html) == html


def test_size_attributes_must_be_numbers():
    cleaned = clean_html('<img src="/announcements/files/5" width="100%" height="1e9"><td colspan="x">a</td>')
    assert "width" not in cleaned and "height" not in cleaned and "colspan" not in cleaned


def test_unknown_tags_are_unwrapped_and_dangerous_ones_emptied():
    cleaned = clean_html(
        '<font color="red">红</font><iframe src="https://x"></iframe><svg><a href="x">s</a></svg>'
        '<form action="/x"><input name="a"></form><object data="x"></object><!-- 注释 -->'
    )
    assert cleaned == "红"


def test_html_text_reads_blocks_apart():
    assert html_text("<p>第一段&amp;</p><p>第二段<script>x</script></p><ul><li>甲</li><li>乙</li></ul>") == (
        "第一段& 第二段 甲 乙"
    )
