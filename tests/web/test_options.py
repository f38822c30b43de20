"""The queue form's kept option lists: escaped, the chosen value marked, rendered once."""

from __future__ import annotations

import jinja2

from web.options import select_options, topic_options

XSS_TITLE = '<script>alert(1)</script>"Паблик" & «Киров»'


def _template_render(rows: tuple[tuple[object, ...], ...], selected: object) -> str:
    """What the queue template wrote before the lists were kept (its loop, autoescaped)."""
    env = jinja2.Environment(autoescape=True)
    template = env.from_string(
        '{% for v, t, n in rows %}<option value="{{ v }}" {% if sel == v %}selected{% endif %}>'
        "{{ t }}</option>{% endfor %}"
    )
    return template.render(rows=rows, sel=selected)


def test_options_match_the_template_loop_and_escape_network_text() -> None:
    sources = ((17, XSS_TITLE, "vk"), (18, "Подслушано в Слободском 😡", "ok"))
    for selected in (None, 17, 18):
        assert str(select_options(sources, selected)) == _template_render(sources, selected)
    html = str(select_options(sources, 18))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert '<option value="18" selected>' in html
    assert '<option value="17" >' in html


def test_bare_options_and_topic_groups() -> None:
    groups = (("ЖКХ", ("Отопление", "Вода <горячая>")), ("Дороги", ("Ямы",)))
    bare = str(select_options(groups, "Дороги", 0, 0, bare=True))
    assert bare == "<option >ЖКХ</option><option selected>Дороги</option>"
    topics = str(topic_options(groups, "Ямы"))
    assert '<optgroup label="ЖКХ">' in topics
    assert "Вода &lt;горячая&gt;" in topics
    assert "<option selected>Ямы</option>" in topics
    assert "<option >Отопление</option>" in topics


def test_a_list_is_rendered_once_per_selection() -> None:
    rows = (("minzdrav", "Минздрав"), ("mintrans", "Минтранс"))
    select_options.cache_clear()
    for _ in range(5):
        select_options(rows, None)
    select_options(rows, "mintrans")
    info = select_options.cache_info()
    assert (info.misses, info.hits) == (2, 4)
