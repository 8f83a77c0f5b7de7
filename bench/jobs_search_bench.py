"""Job search latency with 100,000 open jobs, on SQLite and on PostgreSQL, in one run.

    python bench/jobs_search_bench.py [--jobs 100000] [--repeat 30] [--only sqlite|postgresql]
                                      [--variants] [--keep]

For each database: migrate, bulk-insert --jobs open jobs from ~2,000 clients with Japanese titles
and descriptions generated from a vocabulary of IT/design/writing job words (a seeded RNG, so
both databases hold the same text), then time `job_search(JobFilters(...))`, the real selector,
for a fixed mix of queries (common, rare and absent terms, two-character terms, two-term queries,
a term with a category filter, browsing without a term; since issue 11 also terms in 10 %, 50 %
and 100 % of the jobs, page 10 of common terms, queries job_search refuses, and crafted ones
that no index serves). A refused query (InvalidInput) counts as right for the "refused" and
"crafted" kinds. Each query is checked against a search
done in Python over the same rows before it is timed. After warm-up each query runs --repeat
times, interleaved round by round; the report gives p50/p95/max per query kind and the p95 over
every search, per database, with the plans (SQLite EXPLAIN QUERY PLAN, PostgreSQL EXPLAIN ANALYZE).
--variants then times alternative query shapes on every query (bench code, not Ishibashi's:
a bigram index for 2-character terms, and a two-phase query on PostgreSQL; see bench/README.md).

SQLite: a file in bench/.scratch/jobs-search/. PostgreSQL: database ishibashi_bench_jobs at
PGHOST (127.0.0.1):PGPORT (5432) as PGUSER (postgres) with PGPASSWORD if set, created here and
dropped at the end unless --keep. Prints the table and writes bench/results/jobs-search-<date>.json.
Exits 1 if a search returned something other than the Python reference. Runs itself under the
project's .venv/bin/python if started with another interpreter.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from common import (
    BENCH,
    ISHIBASHI,
    PROJECT_PYTHON,
    RESULTS,
    ROOT,
    Postgres,
    background_load,
    busy_pct,
    cpu_ticks,
    in_project_venv,
    ishibashi_env,
    log,
    machine_facts,
    remove_sqlite,
)

SCRATCH = BENCH / ".scratch" / "jobs-search"  # the SQLite file and the var dir; removed at the end
DB_JOBS = "ishibashi_bench_jobs"
TARGET_P95_MS = 50.0
SEED = 20261123

# --- the vocabulary ---------------------------------------------------------------------------
# Per category, job words from the most to the least frequent: a word is picked with a Zipf
# weight 1/(rank+1)^1.2, so the first ones are common and the last ones rare.
VOCABULARY: dict[str, list[str]] = {
    "web_development": [
        "ホームページ制作", "LP制作", "JavaScript", "ECサイト構築", "フォーム改修",
        "レスポンシブ対応", "API連携", "React", "会員機能", "決済機能", "Laravel", "Shopify",
        "Vue.js", "Next.js", "スクレイピング", "Django",
    ],
    "server_infrastructure": [
        "サーバー移行", "AWS", "SSL証明書", "ドメイン移管", "メールサーバー", "バックアップ設定",
        "Linux", "セキュリティ対策", "Docker", "Nginx", "監視設定", "負荷分散", "CDN導入",
        "Ansible", "Kubernetes",
    ],
    "wordpress": [
        "WordPress", "プラグイン", "テーマカスタマイズ", "サイト修正", "表示速度改善",
        "バージョンアップ", "固定ページ作成", "マルウェア除去", "ブロックエディタ", "WooCommerce",
        "多言語化",
    ],
    "design": [
        "ロゴ", "バナー", "名刺", "チラシ", "イラスト", "LPデザイン", "アイコン", "UIデザイン",
        "パンフレット", "キャラクター", "Figma", "パッケージデザイン",
    ],
    "writing": [
        "記事作成", "SEO", "ブログ記事", "コラム", "商品説明文", "リライト", "取材記事", "校正",
        "メルマガ", "プレスリリース", "シナリオ", "監修",
    ],
    "translation": [
        "翻訳", "英語", "中国語", "契約書", "マニュアル", "韓国語", "字幕", "ネイティブチェック",
        "ローカライズ", "ベトナム語", "医療翻訳",
    ],
    "data_entry": [
        "データ入力", "Excel", "リスト作成", "文字起こし", "商品登録", "画像収集", "PDF",
        "アンケート集計", "スプレッドシート", "名簿整理", "タグ付け",
    ],
    "other": [
        "動画編集", "SNS運用", "リサーチ", "事務代行", "Instagram", "YouTube", "ナレーション",
        "写真撮影", "テストプレイ", "アンケート回答",
    ],
}  # fmt: skip
CATEGORY_WEIGHTS = {
    "web_development": 18, "server_infrastructure": 10, "wordpress": 15, "design": 17,
    "writing": 15, "translation": 8, "data_entry": 10, "other": 7,
}  # fmt: skip
INDUSTRIES = [
    "美容サロン", "歯科医院", "不動産会社", "飲食店", "ECショップ", "学習塾", "工務店",
    "士業事務所", "スタートアップ", "NPO法人", "ホテル", "クリニック", "アパレルブランド",
    "保育園", "整骨院", "カフェ", "旅行代理店", "ヨガ教室", "税理士事務所", "農園",
]  # fmt: skip
TITLE_TEMPLATES = [
    "{t1}の{action}", "{t1}{t2}{action}", "【急募】{t1}", "{industry}向け{t1}", "{t1}と{t2}",
    "{industry}の{t1}{action}", "{t1}（{t2}あり）", "【継続】{t1}{action}",
]  # fmt: skip
ACTIONS = [
    "依頼",
    "をお願いします",
    "募集",
    "作業",
    "対応",
    "案件",
    "（初心者歓迎）",
    "（継続あり）",
]
SENTENCES = [
    "{industry}を運営しています。", "現在、{t1}をお願いできる方を探しています。",
    "{t2}の経験がある方を優遇します。", "作業内容：{t1}、{t2}、{t3}。",
    "納期は{n}週間程度を想定しています。", "予算はご相談ください。",
    "修正は{n}回までを想定しています。", "細かい仕様は契約後にお伝えします。",
    "ご不明点はお気軽にご質問ください。", "週{n}回程度の進捗報告をお願いします。",
    "過去の実績（ポートフォリオ）をご提示ください。", "{t3}についても相談できれば助かります。",
    "初めての発注のため、丁寧にご説明いただける方を希望します。",
    "長期的にお付き合いできる方を探しています。", "平日の日中に連絡が取れる方が望ましいです。",
    "参考サイトは応募いただいた方にお送りします。",
    "弊社は{industry}として地域のお客様に親しまれてきました。",
    "これまで社内で対応してきましたが、手が回らなくなったため外部の方にお願いすることにしました。",
    "\n■求めるスキル\n・{t1}の実務経験\n・{t2}に関する知識\n・円滑なコミュニケーション\n",
    "\n■作業の流れ\n1. ヒアリング\n2. お見積もり\n3. 作業\n4. 納品・検収\n",
    "\n■納品物\n・作業済みのデータ一式\n・作業報告書\n",
    "ご提案の際は、おおよその作業期間とお見積もりの内訳を記載してください。",
    "チャットツールでのやり取りが中心になります。",
    "{t1}の品質には特にこだわっていますので、経験豊富な方を歓迎します。",
    "同業他社の事例があれば教えてください。", "スケジュールは柔軟に調整可能です。",
    "継続してお願いできる方には、今後の{t3}もご相談したいと考えています。",
    "土日の作業も可能な方だと助かります。", "秘密保持契約を締結のうえ、資料をお渡しします。",
    "応募多数の場合は、先着順ではなく内容で判断いたします。",
]  # fmt: skip

# --- the queries ------------------------------------------------------------------------------
# (kind, q, extra filters). The kinds are the rows of the report.
QUERIES: list[tuple[str, str, dict[str, Any]]] = [
    ("common", "WordPress", {}),
    ("common", "wordpress", {}),  # ASCII case folded
    ("common", "データ入力", {}),
    ("common", "ホームページ制作", {}),
    ("rare", "Kubernetes", {}),
    ("rare", "医療翻訳", {}),
    ("rare", "WooCommerce", {}),
    ("rare", "歯科医院向けLP制作", {}),  # across two words of a title
    ("no match", "量子コンピュータ", {}),
    ("no match", "ブロックチェーン", {}),
    ("no match", "xyzzy42", {}),
    ("2 chars", "翻訳", {}),
    ("2 chars", "ロゴ", {}),
    ("2 chars", "名刺", {}),
    ("2 chars", "英語", {}),
    ("2 chars, rare or none", "監修", {}),
    ("2 chars, rare or none", "鰻丼", {}),
    ("2 terms", "WordPress 移行", {}),
    ("2 terms", "ロゴ\u3000名刺", {}),  # full-width space
    ("2 terms", "記事作成 SEO", {}),
    ("2 terms", "サーバー移行 AWS", {}),
    ("term + category", "WordPress", {"category": "wordpress"}),
    ("term + category", "翻訳", {"category": "translation"}),
    ("term + category", "WordPress", {"category": "design"}),
    # Issue 11, finding 5: terms most jobs share (share of the 100,000 jobs in parentheses),
    # through the trigram path (three characters or more) and the bigram path (two).
    ("common 10 %", "サーバー", {}),  # 8.4 %
    ("common 10 %", "急募", {}),  # 12.4 %
    ("common 50 %", "データ", {}),  # 60.2 %, the term
    ("common 50 %", "予算", {}),  # 56.6 %
    ("common 50 %", "データ", {"category": "design"}),  # 60 % of design's 17 %
    ("common 50 %", "ください 納期", {}),  # 55.7 %
    ("common 100 %", "します", {}),  # 99.7 %
    ("common 100 %", "ます", {}),  # 100 %
    ("common 100 %", "ください", {}),  # 97.5 %
    ("common, page 10", "データ", {"page": 10}),
    ("common, page 10", "サーバー", {"page": 10}),
    # One-character and stop-word-only queries: refused (InvalidInput on q) since issue 11.
    ("refused", "の", {}),
    ("refused", "ま す 。 を へ", {}),
    # Crafted to defeat the indexes: a lone character beside a common term, and a phrase whose
    # every bigram is common but which no job holds. Answered or refused (search_too_broad).
    ("crafted", "ます へ", {}),
    ("crafted", "ください納期", {}),
    ("browse", "", {}),
    ("browse", "", {"category": "writing"}),
    ("browse", "", {"budget_min_jpy": 100_000, "contract_type": "monthly"}),
]
EXPLAINED = [
    "WordPress",
    "Kubernetes",
    "歯科医院向けLP制作",  # rare enough that PostgreSQL shows its trigram bitmap scan
    "翻訳",
    "鰻丼",
    "WordPress 移行",
]  # plans recorded for these


# --- the data ---------------------------------------------------------------------------------


def zipf_weights(n: int, s: float = 1.2) -> list[float]:
    return [1 / (rank + 1) ** s for rank in range(n)]


def generate_jobs(count: int, clients: int, seed: int = SEED) -> list[dict[str, Any]]:
    """Deterministic job rows (without ids): the same text on both databases."""
    rng = random.Random(seed)
    categories = list(CATEGORY_WEIGHTS)
    category_weights = list(CATEGORY_WEIGHTS.values())
    weights = {name: zipf_weights(len(words)) for name, words in VOCABULARY.items()}

    def word(category: str) -> str:
        return rng.choices(VOCABULARY[category], weights[category])[0]

    rows = []
    for i in range(count):
        category = rng.choices(categories, category_weights)[0]
        other = rng.choices(categories, category_weights)[0] if rng.random() < 0.2 else category
        t1 = word(category)
        t2 = next((w for w in (word(category) for _ in range(4)) if w != t1), t1)
        slots = {
            "t1": t1, "t2": t2, "t3": word(other),
            "industry": rng.choice(INDUSTRIES), "action": rng.choice(ACTIONS),
        }  # fmt: skip
        title = rng.choice(TITLE_TEMPLATES).format(**slots)
        sentences = rng.sample(SENTENCES, rng.randint(10, 24))
        description = "".join(s.format(**{**slots, "n": rng.randint(1, 4)}) for s in sentences)
        # Clients post unevenly: the busiest one posts ~0.6 % of the jobs, the median one ~25.
        client = int(clients * rng.random() ** 1.5)
        budget_min = rng.choice([10_000, 30_000, 50_000, 100_000, 200_000, 500_000])
        rows.append({
            "i": i, "client": client, "title": title[:100], "description": description,
            "category": category, "contract_type": "monthly" if rng.random() < 0.2 else "fixed",
            "budget_min_jpy": budget_min, "budget_max_jpy": budget_min * rng.choice([1, 2, 3]),
            "revision_rounds": rng.randint(0, 3),
        })  # fmt: skip
    return rows


def reference_search(rows: list[dict[str, Any]], q: str, filters: dict[str, Any]) -> list[int]:
    """Every matching id, newest first: the answer job_search must give, computed in Python.

    Rows carry `id` and `published_key` (a sortable publish time) as loaded from the database.
    Case folding is ASCII only, as SQLite's LIKE and FTS5's trigram both fold ASCII; every
    term used here is ASCII or Japanese, where PostgreSQL's UPPER agrees.
    """
    import re

    terms = [t.upper() for t in re.split(r"\s+", q.strip()) if t][:5]
    found = []
    for row in rows:
        if filters.get("category") and row["category"] != filters["category"]:
            continue
        if filters.get("contract_type") and row["contract_type"] != filters["contract_type"]:
            continue
        if filters.get("budget_min_jpy") is not None and (
            row["budget_max_jpy"] < filters["budget_min_jpy"]
        ):
            continue
        title, description = row["title"].upper(), row["description"].upper()
        if all(t in title or t in description for t in terms):
            found.append(row)
    found.sort(key=lambda row: (row["published_key"], row["id"]), reverse=True)
    return [row["id"] for row in found]


# --- children: each sets Django up with DATABASE_URL already in its environment ----------------


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ishibashi.config.settings")
    import django

    django.setup()


def child_load(payload: dict[str, Any]) -> dict[str, Any]:
    """Insert the clients (with their job stats) and the open jobs; rebuild nothing by hand:
    on SQLite the FTS5 triggers of migration 0002 fill jobs_job_fts as the rows go in."""
    _django_setup()
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from ishibashi.accounts.models import User
    from ishibashi.jobs.models import ClientJobStats, Job

    count, clients = payload["jobs"], payload["clients"]
    started = time.monotonic()
    rows = generate_jobs(count, clients)
    generated_s = time.monotonic() - started
    now = dt.datetime.fromisoformat(payload["now"])
    rng = random.Random(SEED + 1)
    unusable = make_password(None)
    posted = [0] * clients
    for row in rows:
        posted[row["client"]] += 1

    started = time.monotonic()
    with transaction.atomic():
        users = User.objects.bulk_create(
            [
                User(email=f"bench-client-{i}@example.invalid", display_name=f"発注者 {i}",
                     is_client=True, password=unusable,
                     identity_verified_at=now if rng.random() < 0.3 else None)
                for i in range(clients)
            ],
            batch_size=500,
        )  # fmt: skip
        ClientJobStats.objects.bulk_create(
            [ClientJobStats(client=user, jobs_posted=posted[i]) for i, user in enumerate(users)],
            batch_size=500,
        )
    users_s = time.monotonic() - started

    # Oldest first, so ids grow with published_at as they do in production. Jobs published over
    # the last 90 days, recruiting until some day in the next 30.
    span = dt.timedelta(days=90).total_seconds()
    started = time.monotonic()
    batch = []
    for row in rows:
        published = now - dt.timedelta(seconds=span * (1 - row["i"] / count) + rng.random())
        batch.append(
            Job(
                client_id=users[row["client"]].pk, title=row["title"],
                description=row["description"], category=row["category"],
                contract_type=row["contract_type"], budget_min_jpy=row["budget_min_jpy"],
                budget_max_jpy=row["budget_max_jpy"],
                recruiting_deadline=now + dt.timedelta(days=rng.randint(1, 30)),
                desired_delivery_on=(now + dt.timedelta(days=rng.randint(31, 90))).date(),
                scope_deliverables="納品物一式",
                scope_acceptance_criteria="仕様どおりに動作すること",
                revision_rounds=row["revision_rounds"], state="open", created_at=published,
                updated_at=published, published_at=published,
            )
        )  # fmt: skip
        if len(batch) == 2000:
            with transaction.atomic():
                Job.objects.bulk_create(batch, batch_size=1000)
            batch = []
    if batch:
        with transaction.atomic():
            Job.objects.bulk_create(batch, batch_size=1000)
    jobs_s = time.monotonic() - started

    facts: dict[str, Any] = {
        "jobs": Job.objects.count(),
        "clients": clients,
        "generate_s": round(generated_s, 1),
        "insert_users_s": round(users_s, 1),
        "insert_jobs_s": round(jobs_s, 1),
        "mean_title_chars": round(statistics.mean(len(r["title"]) for r in rows), 1),
        "mean_description_chars": round(statistics.mean(len(r["description"]) for r in rows), 1),
    }
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # An external-content FTS5 table reads its count from jobs_job; ask the index itself
            # instead: how many rows hold the trigram of a word every description has.
            cursor.execute(
                "SELECT count(*) FROM jobs_job_fts WHERE jobs_job_fts MATCH %s", ['"ください"']
            )
            facts["fts_rows_matching_kudasai"] = cursor.fetchone()[0]
            cursor.execute(
                "SELECT count(*) FROM jobs_job WHERE description LIKE %s", ["%ください%"]
            )
            facts["like_rows_matching_kudasai"] = cursor.fetchone()[0]
        else:
            cursor.execute("VACUUM ANALYZE")
    return facts


def _percentile(samples: list[float], pct: float) -> float:
    """Nearest-rank percentile, so p95 of 30 samples is the 29th smallest."""
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]


def _summary(samples_ms: list[float]) -> dict[str, float | int]:
    return {
        "n": len(samples_ms),
        "p50_ms": round(_percentile(samples_ms, 50), 2),
        "p95_ms": round(_percentile(samples_ms, 95), 2),
        "max_ms": round(max(samples_ms), 2),
    }


def _load_reference_rows() -> list[dict[str, Any]]:
    from ishibashi.jobs.models import Job

    return [
        {**row, "published_key": row.pop("published_at").timestamp()}
        for row in Job.objects.filter(state="open").values(
            "id", "title", "description", "category", "contract_type", "budget_max_jpy",
            "published_at",
        )
    ]  # fmt: skip


def _explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("EXPLAIN QUERY PLAN " + sql)
        # (id, parent, notused, detail): indent by depth.
        depth: dict[int, int] = {0: -1}
        lines = []
        for node, parent, _, detail in cursor.fetchall():
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + detail)
        return "\n".join(lines)


def _explain_all(statements: list[str]) -> dict[str, str]:
    """The plans of a search's data statements, in order. A PostgreSQL search with a
    2-character term runs two phases under set_config() planner settings: those are replayed,
    inside one transaction, before the statements they applied to."""
    from django.db import transaction

    data, plans = [], []
    with transaction.atomic():
        for sql in statements:
            head = sql.lstrip().upper()
            if head.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT", "BEGIN")):
                continue
            if "SET_CONFIG(" in head or "CURRENT_SETTING(" in head:
                from django.db import connection

                with connection.cursor() as cursor:
                    cursor.execute(sql)
                continue
            data.append(sql)
            plans.append(_explain(sql))
    return {"sql": "\n;\n".join(data), "plan": "\n----\n".join(plans)}


def time_queries(
    search: Any, queries: list[tuple[str, str, dict[str, Any]]], rows: list[dict[str, Any]],
    repeat: int, warmup: int, explain: bool = False,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:  # fmt: skip
    """Check each query against the Python reference, then time search(q, filters) -> ids.

    Returns (per query results, mismatches, plans). Rounds are interleaved in a shuffled order,
    so a burst of background load hits every query alike.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    per_query, mismatches, plans = [], [], {}
    for kind, q, extra in queries:
        expected = reference_search(rows, q, extra)
        with CaptureQueriesContext(connection) as captured:
            got = search(q, extra)
        offset = (extra.get("page", 1) - 1) * 20
        refused_ok = kind in ("refused", "crafted") and got is None
        if not refused_ok and got != expected[offset : offset + 20]:
            mismatches.append({"q": q, "filters": extra, "got": got[:5], "expected": expected[:5]})
        statements = [query["sql"] for query in captured.captured_queries]
        if explain and q in EXPLAINED and not extra:
            plans[q] = _explain_all(statements)
        per_query.append({
            "kind": kind, "q": q, "filters": extra, "matches": len(expected),
            "returned": None if got is None else len(got), "queries_per_search": len(statements), "samples_ms": [],
        })  # fmt: skip
    for _ in range(warmup):
        for _, q, extra in queries:
            search(q, extra)
    order = list(range(len(queries)))
    rng = random.Random(7)
    for _ in range(repeat):
        rng.shuffle(order)
        for index in order:
            _, q, extra = queries[index]
            started = time.perf_counter_ns()
            search(q, extra)
            per_query[index]["samples_ms"].append((time.perf_counter_ns() - started) / 1e6)
    for entry in per_query:
        entry.update(_summary(entry["samples_ms"]))
        entry["samples_ms"] = [round(s, 2) for s in entry["samples_ms"]]
    return per_query, mismatches, plans


def child_time(payload: dict[str, Any]) -> dict[str, Any]:
    """Time job_search, the real selector, on the query mix; then the variants if asked."""
    _django_setup()
    from django.db import connection

    from ishibashi.core.errors import InvalidInput
    from ishibashi.jobs.selectors import JobFilters, job_search

    def search(q: str, extra: dict[str, Any]) -> list[int] | None:
        """The page's ids; None when the search is refused (the "refused" kind)."""
        try:
            return [job.pk for job in job_search(JobFilters(q=q, **extra)).jobs]
        except InvalidInput:
            return None

    rows = _load_reference_rows()
    repeat, warmup = payload["repeat"], payload["warmup"]
    queries = [tuple(q) for q in payload["queries"]]
    per_query, mismatches, plans = time_queries(search, queries, rows, repeat, warmup, True)
    out: dict[str, Any] = {
        "vendor": connection.vendor, "queries": per_query, "mismatches": mismatches,
        "plans": plans,
    }  # fmt: skip
    if payload.get("variants"):
        out["variants"] = {}
        for name, vendors in VARIANTS.items():
            if connection.vendor not in vendors:
                continue
            setup = globals().get(f"setup_{name}")
            prepared = setup() if setup else {}
            function = globals()[f"variant_{name}"]
            log(f"{connection.vendor}: variant {name}")
            # Plans only where no SET LOCAL shapes them (EXPLAIN runs outside the transaction).
            results, wrong, variant_plans = time_queries(
                function, queries, rows, repeat, warmup, explain=name == "bigram"
            )
            out["variants"][name] = {
                "doc": " ".join((function.__doc__ or "").split()), "setup": prepared,
                "queries": results, "mismatches": wrong, "plans": variant_plans,
            }  # fmt: skip
    return out


# --- alternative query shapes (bench code, not Ishibashi's) -------------------------------------
# Each variant_<name>(q, filters) returns the ids of the first page, newest first, like
# job_search; setup_<name>() (if any) runs once before it, on the bench database only.

VARIANTS: dict[str, tuple[str, ...]] = {
    "two_phase": ("postgresql",),
    "bigram": ("sqlite", "postgresql"),
    "two_phase_bigram": ("postgresql",),
}
ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
PHASE_ONE_CAP = 2000


def _filtered(extra: dict[str, Any]) -> Any:
    """job_search's queryset before the text match: open jobs and the filters."""
    from ishibashi.jobs.models import Job

    jobs = Job.objects.filter(state="open")
    for name, lookup in (("category", "category"), ("contract_type", "contract_type"),
                         ("budget_min_jpy", "budget_max_jpy__gte"),
                         ("budget_max_jpy", "budget_min_jpy__lte")):  # fmt: skip
        if extra.get(name) not in (None, ""):
            jobs = jobs.filter(**{lookup: extra[name]})
    return jobs


def _first_page(jobs: Any, offset: int = 0) -> list[int]:
    page = jobs.select_related("client", "client__job_stats").order_by("-published_at", "-id")
    return [job.pk for job in page[offset : offset + 21]][:20]


def bigrams(text: str) -> set[str]:
    """Every 2-character substring with no whitespace, ASCII upper-cased (what UPPER does to
    the ASCII letters; this data has no other cased letters)."""
    folded = text.translate(ASCII_UPPER)
    return {
        folded[i : i + 2]
        for i in range(len(folded) - 1)
        if not (folded[i].isspace() or folded[i + 1].isspace())
    }


def _gram_token(gram: str) -> str:
    """A bigram as one token FTS5's ascii tokenizer keeps whole, whatever the characters."""
    return "g" + gram.encode().hex()


def setup_bigram() -> dict[str, Any]:
    """A bigram index beside the trigram one: a contentless FTS5 table of bigram tokens on
    SQLite, a text[] column with a GIN index on PostgreSQL, both filled here from Python (the app
    would keep them up to date where it writes a job's title and description)."""
    from django.db import connection

    from ishibashi.jobs.models import Job

    started = time.monotonic()
    source = Job.objects.values_list("id", "title", "description").iterator(chunk_size=2000)
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            pages_before = _used_pages(cursor)
            cursor.execute(
                "CREATE VIRTUAL TABLE IF NOT EXISTS bench_bigram_fts USING fts5("
                "grams, content='', tokenize='ascii', detail='none')"
            )
            batch = []
            for pk, title, description in source:
                grams = bigrams(title) | bigrams(description)
                batch.append((pk, " ".join(_gram_token(g) for g in grams)))
                if len(batch) == 2000:
                    cursor.executemany(
                        "INSERT INTO bench_bigram_fts(rowid, grams) VALUES (%s, %s)", batch
                    )
                    batch = []
            if batch:
                cursor.executemany("INSERT INTO bench_bigram_fts(rowid, grams) VALUES (%s, %s)",
                                   batch)  # fmt: skip
            cursor.execute("INSERT INTO bench_bigram_fts(bench_bigram_fts) VALUES ('optimize')")
            pages_after = _used_pages(cursor)
            cursor.execute("PRAGMA page_size")
            added = (pages_after - pages_before) * cursor.fetchone()[0]
            return {"seconds": round(time.monotonic() - started, 1),
                    "added_mib": round(added / 2**20, 1)}  # fmt: skip
        cursor.execute("ALTER TABLE jobs_job ADD COLUMN IF NOT EXISTS bench_bigrams text[]")
        batch = []
        for pk, title, description in source:
            batch.append((sorted(bigrams(title) | bigrams(description)), pk))
            if len(batch) == 2000:
                cursor.executemany("UPDATE jobs_job SET bench_bigrams = %s WHERE id = %s",
                                   batch)  # fmt: skip
                batch = []
        if batch:
            cursor.executemany("UPDATE jobs_job SET bench_bigrams = %s WHERE id = %s", batch)
        cursor.execute(
            "CREATE INDEX IF NOT EXISTS bench_jobs_bigrams ON jobs_job USING gin (bench_bigrams)"
        )
        # The UPDATE left every row twice; rewrite the table so it is as compact as before.
        cursor.execute("VACUUM FULL jobs_job")
        cursor.execute("ANALYZE jobs_job")
        cursor.execute("SELECT pg_size_pretty(pg_relation_size('bench_jobs_bigrams'))")
        return {"seconds": round(time.monotonic() - started, 1),
                "index_size": cursor.fetchone()[0]}  # fmt: skip
    return {"seconds": round(time.monotonic() - started, 1)}


def _used_pages(cursor: Any) -> int:
    """SQLite pages in use: the file's pages less the free list (merged FTS segments)."""
    cursor.execute("PRAGMA page_count")
    pages = cursor.fetchone()[0]
    cursor.execute("PRAGMA freelist_count")
    return int(pages - cursor.fetchone()[0])


def _bigram_matching(jobs: Any, terms: list[str]) -> Any:
    """Two-character terms through the bigram index (exact: no LIKE needed), the rest as
    job_search does it."""
    from django.db import connection
    from django.db.models.expressions import RawSQL

    from ishibashi.jobs.selectors import _matching

    pairs = [term.translate(ASCII_UPPER) for term in terms if len(term) == 2]
    jobs = _matching(jobs, [term for term in terms if len(term) != 2], bigrams=False)
    if not pairs:
        return jobs
    if connection.vendor == "sqlite":
        match = " AND ".join(_gram_token(pair) for pair in pairs)
        return jobs.filter(pk__in=RawSQL(
            "SELECT rowid FROM bench_bigram_fts WHERE bench_bigram_fts MATCH %s", [match]
        ))  # fmt: skip
    return jobs.extra(where=['"jobs_job"."bench_bigrams" @> %s::text[]'], params=[pairs])


def variant_bigram(q: str, extra: dict[str, Any]) -> list[int]:
    """job_search with its 2-character terms matched through a bigram index (see setup_bigram)
    instead of a LIKE scan; longer and 1-character terms unchanged."""
    from ishibashi.jobs.selectors import search_terms

    return _first_page(_bigram_matching(_filtered(extra), search_terms(q)))


def _two_phase(q: str, extra: dict[str, Any], matching: Any) -> list[int]:
    from django.db import connection, transaction

    from ishibashi.jobs.selectors import search_terms

    terms = search_terms(q)
    jobs = _filtered(extra)
    if not terms:
        return _first_page(jobs)
    matched = matching(jobs, terms)
    if all(len(term) < 3 for term in terms) and matching is not _bigram_matching:
        return _first_page(matched)  # nothing for a bitmap scan to use: job_search as is
    with transaction.atomic(), connection.cursor() as cursor:
        # Phase 1: up to PHASE_ONE_CAP + 1 matches straight from the GIN indexes, unordered.
        # Only bitmap scans are left to the planner, so a rare term cannot get the ordered scan.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        ids = list(matched.values_list("id", flat=True)[: PHASE_ONE_CAP + 1])
    if len(ids) <= PHASE_ONE_CAP:
        # Every match is known: sort those few by publication.
        from ishibashi.jobs.models import Job

        return _first_page(Job.objects.filter(pk__in=ids))
    # Phase 2: a common term: the ordered scan finds 21 among the newest jobs quickly.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute("SET LOCAL enable_seqscan = off")
        return _first_page(matched)


def variant_two_phase(q: str, extra: dict[str, Any]) -> list[int]:
    """PostgreSQL: choose the plan from the real number of matches, not the planner's estimate.
    Phase 1 takes up to 2,001 matching ids through the trigram GIN indexes (bitmap scans only,
    no ORDER BY). At most 2,000: they are all the matches; fetch the page among them. More: the
    term is common, and the ordered index scan on (state, published_at) finds 21 matches after
    about 21 x 100,000 / 2,000 = 1,050 rows. 2-character-only queries run as job_search does."""
    from ishibashi.jobs.selectors import _matching

    # The selector before migration 0004: no bigram index.
    return _two_phase(q, extra, functools.partial(_matching, bigrams=False))


def variant_two_phase_bigram(q: str, extra: dict[str, Any]) -> list[int]:
    """Both: two_phase, with 2-character terms matched through the bigram GIN index, so that
    phase 1 serves them too."""
    return _two_phase(q, extra, _bigram_matching)


# --- PostgreSQL, the machine ----------------------------------------------------------------


class JobsPostgres(Postgres):
    def facts(self, database: str) -> dict[str, Any]:
        facts = self.current_settings(
            ("shared_buffers", "work_mem", "effective_cache_size", "random_page_cost", "jit",
             "max_parallel_workers_per_gather", "lc_ctype"),
            database,
        )  # fmt: skip
        with self.connect(database) as conn:
            trgm = conn.execute(
                "SELECT extversion FROM pg_extension WHERE extname = 'pg_trgm'"
            ).fetchone()
            sizes = {
                name: conn.execute(
                    "SELECT pg_size_pretty(pg_total_relation_size(%s))", [name]
                ).fetchone()[0]
                for name in ("jobs_job", "jobs_job_title_trgm", "jobs_job_description_trgm")
            }
        return {**facts, "pg_trgm": trgm and trgm[0], "sizes": sizes}


def migrate(env: dict[str, str]) -> None:
    done = subprocess.run(
        [str(ISHIBASHI), "migrate", "--verbosity", "0", "--no-input"],
        env={**os.environ, **env}, capture_output=True, text=True, cwd=SCRATCH, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"ishibashi migrate failed:\n{done.stderr[-3000:]}")


# --- the run ----------------------------------------------------------------------------------


def measure_database(vendor: str, args: argparse.Namespace, now: str) -> dict[str, Any]:
    from harness import run_in_child

    pg = JobsPostgres()
    sqlite_file = SCRATCH / "jobs-search-bench.sqlite3"
    if vendor == "postgresql":
        pg.recreate(DB_JOBS)
        env = ishibashi_env(pg.url(DB_JOBS), var_dir=SCRATCH / "var", label="jobs-search-bench")
    else:
        remove_sqlite(sqlite_file)
        env = ishibashi_env(
            f"sqlite:///{sqlite_file}", var_dir=SCRATCH / "var", label="jobs-search-bench"
        )
    log(f"{vendor}: migrate")
    migrate(env)
    log(f"{vendor}: insert {args.jobs:,} open jobs from {args.clients:,} clients")
    started = time.monotonic()
    load = run_in_child(
        "jobs_search_bench:child_load",
        {"jobs": args.jobs, "clients": args.clients, "now": now}, env, [str(BENCH)],
    )  # fmt: skip
    load["seconds"] = round(time.monotonic() - started, 1)
    facts: dict[str, Any] = {}
    if vendor == "postgresql":
        facts = pg.facts(DB_JOBS)
    else:
        facts = {"file_mib": round(sqlite_file.stat().st_size / 2**20, 1),
                 "analyzed": False}  # fmt: skip
    log(f"{vendor}: loaded in {load['seconds']:.0f} s; timing {len(QUERIES)} queries "
        f"x {args.repeat} after {args.warmup} warm-up rounds")  # fmt: skip
    payload: dict[str, Any] = {
        "repeat": args.repeat, "warmup": args.warmup, "queries": QUERIES,
    }  # fmt: skip
    payload["variants"] = args.variants
    since = cpu_ticks()
    timing = run_in_child("jobs_search_bench:child_time", payload, env, [str(BENCH)])
    timing["machine_busy_pct"] = busy_pct(since)
    if not args.keep:
        if vendor == "postgresql":
            pg.drop(DB_JOBS)
        else:
            remove_sqlite(sqlite_file)
    return {"load": load, "facts": facts, **timing}


def kinds_summary(result: dict[str, Any]) -> dict[str, Any]:
    """Per query kind, and over every search (browse excluded), p50/p95/max of the samples."""
    by_kind: dict[str, list[float]] = {}
    for entry in result["queries"]:
        by_kind.setdefault(entry["kind"], []).extend(entry["samples_ms"])
    summary = {kind: _summary(samples) for kind, samples in by_kind.items()}
    searches = [s for kind, samples in by_kind.items() if kind != "browse" for s in samples]
    summary["every search"] = _summary(searches)
    for values in summary.values():
        values["meets_target"] = values["p95_ms"] <= TARGET_P95_MS
    return summary


# The fix proposed in bench/README.md, composed from the variants' samples of the same run:
# on SQLite every query through the bigram variant; on PostgreSQL the queries with a
# 2-character term through two_phase_bigram, the others as job_search runs them today.
def proposal_variant(vendor: str, q: str) -> str | None:
    if vendor == "sqlite":
        return "bigram"
    terms = [t for t in q.split() if t]
    return "two_phase_bigram" if any(len(t) == 2 for t in terms) else None


def proposal_summary(vendor: str, measured: dict[str, Any]) -> dict[str, Any]:
    variants = measured.get("variants", {})
    queries = []
    for index, entry in enumerate(measured["queries"]):
        name = proposal_variant(vendor, entry["q"])
        queries.append(entry if name is None else variants[name]["queries"][index])
    return kinds_summary({"queries": queries})


def table(results: dict[str, Any]) -> str:
    vendors = [v for v in ("sqlite", "postgresql") if v in results]
    header = "| query kind | " + " | ".join(f"{v} p50 | {v} p95 | {v} max" for v in vendors) + " |"
    lines = [header, "| --- |" + " ---: |" * (3 * len(vendors))]
    kinds = list(results[vendors[0]]["summary"])
    for kind in kinds:
        cells = []
        for vendor in vendors:
            s = results[vendor]["summary"][kind]
            mark = "" if s["meets_target"] else " ✗"
            cells += [f"{s['p50_ms']:.1f}", f"**{s['p95_ms']:.1f}**{mark}", f"{s['max_ms']:.1f}"]
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines += ["", "| query | matches | " + " | ".join(f"{v} p95" for v in vendors) + " |",
              "| --- | ---: |" + " ---: |" * len(vendors)]  # fmt: skip
    first = results[vendors[0]]["queries"]
    for index, entry in enumerate(first):
        label = entry["q"] or "(browse)"
        if entry["filters"]:
            label += " " + ", ".join(f"{k}={v}" for k, v in entry["filters"].items())
        cells = [f"{results[v]['queries'][index]['p95_ms']:.1f}" for v in vendors]
        lines.append(f"| {entry['kind']}: {label} | {entry['matches']:,} | " + " | ".join(cells)
                     + " |")  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    if not in_project_venv():
        in_venv = Path(sys.prefix).resolve() == (ROOT / ".venv").resolve()
        if not in_venv and PROJECT_PYTHON.exists():
            os.execv(str(PROJECT_PYTHON), [str(PROJECT_PYTHON), __file__, *sys.argv[1:]])
        sys.exit("run `make install` first: the benchmark needs the project's .venv")
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="open jobs to insert")
    parser.add_argument("--clients", type=int, default=2_000, help="clients posting them")
    parser.add_argument("--repeat", type=int, default=30, help="timed runs of each query")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds first")
    parser.add_argument("--only", choices=("sqlite", "postgresql"), help="one database only")
    parser.add_argument("--variants", action="store_true",
                        help="also time alternative query shapes (bench code)")  # fmt: skip
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--out", help="write the JSON here instead of bench/results/")
    args = parser.parse_args()
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))
    SCRATCH.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(exist_ok=True)

    started = time.monotonic()
    result: dict[str, Any] = {
        "machine": machine_facts(),
        "jobs": args.jobs, "clients": args.clients, "repeat": args.repeat,
        "warmup": args.warmup, "target_p95_ms": TARGET_P95_MS,
        "background_busy_pct": {"before": background_load()},
        "databases": {},
    }  # fmt: skip
    log(f"{result['machine']['nproc']} CPUs, machine "
        f"{result['background_busy_pct']['before']} % busy before the run")  # fmt: skip
    now = dt.datetime.now(dt.UTC).isoformat()
    failures = []
    for vendor in ("sqlite", "postgresql"):
        if args.only and vendor != args.only:
            continue
        measured = measure_database(vendor, args, now)
        measured["summary"] = kinds_summary(measured)
        if measured.get("variants"):
            measured["proposal_summary"] = proposal_summary(vendor, measured)
        result["databases"][vendor] = measured
        if measured["mismatches"]:
            failures.append(f"{vendor}: results differ from the reference: "
                            f"{measured['mismatches']}")  # fmt: skip
    result["background_busy_pct"]["after"] = background_load()
    result["elapsed_seconds"] = round(time.monotonic() - started, 1)
    result["failures"] = failures
    out = (
        Path(args.out)
        if args.out
        else RESULTS / f"jobs-search-{result['machine']['date'][:10]}.json"
    )
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    if not args.keep:
        shutil.rmtree(SCRATCH, ignore_errors=True)

    print(table(result["databases"]))
    proposal = {v: m for v, m in result["databases"].items() if "proposal_summary" in m}
    if proposal:
        print("\nwith the proposed bigram index (see bench/README.md), same run:")
        print(table({v: {**m, "summary": m["proposal_summary"]} for v, m in proposal.items()})
              .split("\n\n")[0])  # fmt: skip
    for vendor, measured in result["databases"].items():
        for q, plan in measured["plans"].items():
            print(f"\n{vendor} plan for {q!r}:\n{plan['plan']}")
    print(f"\nwrote {out} in {result['elapsed_seconds']:.0f} s")
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
