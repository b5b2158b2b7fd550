"""Next-item cost as a campaign grows and as one labeller gets far ahead of the others (PostgreSQL).

Usage: python bench/next_item.py [--calls 500] [--small 20000] [--large 1000000] [--ahead 100000] [--settled 10000]
       [--admin-url postgres://...] [--db labelapp_bench_next] [--record]

One labeller asks for their next item, labels it, and asks again, in three cases measured in the same run:
(a) a campaign of --small items, nothing labelled; (b) a campaign of --large items, nothing labelled;
(c) the same --large campaign once the labeller has labelled --ahead of its items that no one else has
labelled yet (k=2, so each waits for a second label): the labeller is that far ahead of the others, and
every partly labelled item is one of theirs, the worst case for "finish partly labelled items first";
(d) the --small campaign once another labeller's single label settled --settled of its items (adaptive
overlap: they ask for no more, below k), which the queue's index leaves out rather than walking them.

Each case is timed twice: through the REST API served by gunicorn, as bench/labelling_load.py serves it
(what a labeller's script waits for: the target, p99 <= 20 ms and within 1.5x of case (a)), and in this
process through the service (`lease_next`), which leaves out the HTTP and Django request overhead that
is the same in every case, so the ratios show the queue's own cost. Only the next-item call is timed;
the label that follows it is not.

The items are bulk-inserted with generate_series (1,000,000 items and their 2,000,000 candidate slots
in about a minute); they share one prompt and two candidates, which next-item does not read. The
database --db is created with --admin-url's role and dropped at the end, also on error.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from benchmarks_file import benchmark_record, scratch_database
from labelling_load import (
    PREPARED,
    Client,
    free_port,
    gunicorn_start,
    gunicorn_stop,
    percentile_ms,
    server_env,
    wait_ready,
)

REPO = Path(__file__).resolve().parents[1]
K = 2
WARM_UP_CALLS = 20  # per case, not timed: connections, prepared statements, the cache of the index's pages


def campaign_create(name: str, items: int) -> int:
    """A k=2 pairwise campaign of `items` items, inserted in SQL; returns its id."""
    from django.db import connection

    from labelapp.models import Campaign, Candidate, Generator, Item, ItemCandidate, Prompt

    campaign = Campaign.objects.create(name=name, title=name, labels_per_item=K)
    generator, _ = Generator.objects.get_or_create(name="bench-model", model="embedded")
    prompt = Prompt.objects.create(campaign=campaign, text="Which answer is better?")
    first, second = (
        Candidate.objects.create(prompt=prompt, generator=generator, text=f"The {side} answer.")
        for side in ("first", "second")
    )
    item_table, slot_table = Item._meta.db_table, ItemCandidate._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {item_table}
                (campaign_id, kind, prompt_id, priority, is_gold, label_count, labels_wanted, pair_key, order_key,
                 created_at)
            SELECT %s, 'pairwise', %s, 0, false, 0, %s, '', random(), now() FROM generate_series(1, %s)
            """,
            [campaign.pk, prompt.pk, K, items],
        )
        cursor.execute(
            f"""
            INSERT INTO {slot_table} (item_id, candidate_id, "index", position)
            SELECT i.id, c.candidate_id, c.index, CASE WHEN i.id %% 2 = 0 THEN c.index ELSE 1 - c.index END
            FROM {item_table} i CROSS JOIN (VALUES (%s, 0), (%s, 1)) AS c (candidate_id, index)
            WHERE i.campaign_id = %s
            """,
            [first.pk, second.pk, campaign.pk],
        )
    return campaign.pk


def labels_ahead(campaign_id: int, labeller_id: int, count: int, *, settled: bool = False) -> None:
    """The labeller's first label on `count` untouched items of the campaign, which wait for a second one;
    with `settled`, each item then asks for no more (adaptive overlap: its first label settled it, below k):
    items the queue must never walk."""
    from django.db import connection

    from labelapp.models import Item, Label

    wanted, key = (", labels_wanted = 1", "settled-") if settled else ("", "ahead-")
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH chosen AS (
                SELECT id FROM {Item._meta.db_table}
                WHERE campaign_id = %s AND label_count = 0 ORDER BY id LIMIT %s
            ), counted AS (
                UPDATE {Item._meta.db_table} SET label_count = 1{wanted} WHERE id IN (SELECT id FROM chosen)
            )
            INSERT INTO {Label._meta.db_table}
                (item_id, labeller_id, value, seconds_spent, idempotency_key, created_at)
            SELECT id, %s, '{{"choice": "a", "strength": null, "rationale": ""}}', 5, '{key}' || id, now()
            FROM chosen
            """,
            [campaign_id, count, labeller_id],
        )
        if cursor.rowcount != count:
            raise RuntimeError(f"only {cursor.rowcount} of {count} labelled items could be made")


def vacuum_analyze() -> None:
    """Planner statistics and visibility maps, as a database in service has them after autovacuum."""
    from django.db import connection

    from labelapp.models import Item, ItemCandidate, Label, Lease

    with connection.cursor() as cursor:
        for model in (Item, ItemCandidate, Label, Lease):
            cursor.execute(f'VACUUM ANALYZE "{model._meta.db_table}"')


def labeller_create(username: str = "ahead") -> tuple[int, str]:
    from django.contrib.auth.models import Group, User
    from rest_framework.authtoken.models import Token

    from labelapp.models import LABELLERS_GROUP

    user = User.objects.create(username=username, password="!")
    user.groups.add(Group.objects.get_or_create(name=LABELLERS_GROUP)[0])
    return user.pk, Token.objects.create(user=user).key


def through_api(client: Client, campaign: str, calls: int) -> list[float]:
    """Seconds per next-item request; each item leased is then labelled (not timed)."""
    timings = []
    for number in range(WARM_UP_CALLS + calls):
        started = time.perf_counter()
        status, body = client.call("POST", f"/api/v1/campaigns/{campaign}/next-item/")
        took = time.perf_counter() - started
        if status != 200 or body["item"] is None:
            raise RuntimeError(f"next-item answered {status}: {body}")
        if number >= WARM_UP_CALLS:
            timings.append(took)
        label = {"value": {"choice": "a"}, "idempotency_key": uuid.uuid4().hex}
        status, body = client.call("POST", f"/api/v1/items/{body['item']['id']}/labels/", label)
        if status != 201:
            raise RuntimeError(f"the label answered {status}: {body}")
    return timings


def through_service(labeller_id: int, campaign: str, calls: int) -> list[float]:
    """Seconds per lease_next call in this process; each item leased is then labelled (not timed)."""
    from django.contrib.auth.models import User

    from labelapp.models import Campaign
    from labelapp.services.labels import label_submit
    from labelapp.services.leases import lease_next

    labeller, found = User.objects.get(pk=labeller_id), Campaign.objects.get(name=campaign)
    timings = []
    for number in range(WARM_UP_CALLS + calls):
        started = time.perf_counter()
        item = lease_next(labeller=labeller, campaign=found)
        took = time.perf_counter() - started
        if item is None:
            raise RuntimeError(f"no item left for the labeller in {campaign}")
        if number >= WARM_UP_CALLS:
            timings.append(took)
        label_submit(
            labeller=labeller,
            campaign=campaign,
            item_id=item.pk,
            value={"choice": "b"},
            idempotency_key=uuid.uuid4().hex,
            lease_next=False,
        )
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=500, help="timed next-item calls per case and way")
    parser.add_argument("--small", type=int, default=20_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--ahead", type=int, default=100_000)
    parser.add_argument(
        "--settled", type=int, default=10_000, help="(d): items of the small campaign settled at one label"
    )
    parser.add_argument("--admin-url", default="postgres://labelapp:labelapp@127.0.0.1:5432/labelapp")
    parser.add_argument("--db", default="labelapp_bench_next", help="created, then dropped at the end")
    parser.add_argument("--record", action="store_true")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # clean up on kill as on Ctrl-C
    load_before = os.getloadavg()[0]  # other work on the machine, for the record
    with (
        tempfile.TemporaryDirectory() as folder,
        scratch_database("postgres", Path(folder), admin_url=args.admin_url, name=args.db) as url,
        tempfile.NamedTemporaryFile(prefix="labelapp-gunicorn-", suffix=".log") as log,
    ):
        database_url = f"{url}?{PREPARED}"
        os.environ.update(
            DATABASE_URL=database_url, DJANGO_SETTINGS_MODULE="config.settings", HF_HUB_OFFLINE="1"
        )
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity=0"],
            cwd=REPO,
            env=server_env(database_url),
            check=True,
        )
        import django

        django.setup()
        from django.db import connections

        small = campaign_create("small", args.small)
        large = campaign_create("large", args.large)
        labeller_id, token = labeller_create()
        other_id, _ = labeller_create("other")
        vacuum_analyze()
        print(f"setup: {args.small} + {args.large} items in {time.perf_counter() - began:.0f} s", flush=True)

        port = free_port()
        server = gunicorn_start(
            argparse.Namespace(workers=2, worker_class="gthread", threads=4), port, database_url, log
        )
        try:
            wait_ready(port, token, server)
            client = Client(port, token)
            cases = {}
            for case, campaign in (("a", "small"), ("b", "large"), ("c", "large"), ("d", "small")):
                if case == "c":
                    labels_ahead(large, labeller_id, args.ahead)
                    vacuum_analyze()
                if case == "d":
                    labels_ahead(small, other_id, args.settled, settled=True)
                    vacuum_analyze()
                api = through_api(client, campaign, args.calls)
                service = through_service(labeller_id, campaign, args.calls)
                cases[case] = (percentile_ms(api, 0.99), percentile_ms(service, 0.99))
                print(
                    f"({case}) {campaign}: next-item p50 {percentile_ms(api, 0.5):.1f} ms p99 {cases[case][0]:.1f} ms "
                    f"through the API; lease_next p50 {percentile_ms(service, 0.5):.1f} ms p99 {cases[case][1]:.1f} ms",
                    flush=True,
                )
        except Exception:
            log.flush()
            print(Path(log.name).read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
        finally:
            gunicorn_stop(server)
            connections.close_all()

    (api_a, service_a), (api_b, service_b), (api_c, service_c) = cases["a"], cases["b"], cases["c"]
    api_d, service_d = cases["d"]
    summary = (
        f"one labeller, next-item p99 through the API (gunicorn -w 2 -k gthread --threads 4, PostgreSQL, "
        f"{args.calls} calls per case): (a) {args.small:,} items {api_a:.1f} ms; (b) {args.large:,} items "
        f"{api_b:.1f} ms ({api_b / api_a:.2f}x a); (c) {args.large:,} items, the labeller {args.ahead:,} labels "
        f"ahead {api_c:.1f} ms ({api_c / api_a:.2f}x a); (d) {args.small:,} items, {args.settled:,} settled at one "
        f"label by another (adaptive overlap) {api_d:.1f} ms ({api_d / api_a:.2f}x a). In-process lease_next p99: "
        f"(a) {service_a:.1f} ms, (b) {service_b:.1f} ms ({service_b / service_a:.2f}x), (c) {service_c:.1f} ms "
        f"({service_c / service_a:.2f}x), (d) {service_d:.1f} ms ({service_d / service_a:.2f}x); "
        f"machine load: 1-min load average {load_before:.2f} before the run"
    )
    print(summary)
    if args.record:
        benchmark_record("python bench/next_item.py " + " ".join(sys.argv[1:]), summary)


if __name__ == "__main__":
    main()
