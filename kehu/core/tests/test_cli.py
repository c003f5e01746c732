"""The ``kehu`` command, run as a user would: in a subprocess against a temporary data folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kehu.core import permissions

ROOT = Path(__file__).resolve().parents[3]
DEMO_ROW = re.compile(r"^\| (\w+)\s+\| (\S+@demo\.kehu\.local)\s+\| (.+?)\s+\| (\S+)\s+\|$", re.M)

# Prints the demo company's tree and users as JSON (run through `kehu shell -c`).
DUMP = """
import json
from kehu.core.models import OrgUnit, Tenant, User
out = {"tenants": list(Tenant.objects.values_list("name", flat=True)), "units": [], "users": []}
for unit in OrgUnit.objects.order_by("path"):
    out["units"].append({"name": unit.name, "kind": unit.kind, "depth": unit.depth,
                         "parent": unit.parent.name if unit.parent else None,
                         "tenant": unit.tenant.name})
for user in User.objects.order_by("email"):
    out["users"].append({"email": user.email, "unit": user.org_unit.name,
                         "roles": sorted(r.builtin_key for r in user.roles.all()),
                         "usable": user.has_usable_password()})
from kehu.customers.models import Customer
out["customers"] = [{"name": c.name, "owner": c.owner.email if c.owner else None,
                     "parent": c.parent.name if c.parent else None}
                    for c in Customer.objects.select_related("owner", "parent")]
print(json.dumps(out))
"""


# Variables the test process may carry that must not reach a production-like command.
NOT_INHERITED = {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}


def kehu(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith("KEHU_") and k not in NOT_INHERITED}
    environment["KEHU_DATA_DIR"] = str(data_dir)
    return subprocess.run(  # noqa: S603
        [sys.executable, "-m", "kehu.cli", *args], cwd=ROOT, env=environment,
        capture_output=True, text=True, timeout=180, check=False,
    )


def ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    return done.stdout


def dump(data_dir: Path) -> dict:
    return json.loads(ok(kehu(data_dir, "shell", "-c", DUMP)).strip().splitlines()[-1])


@pytest.fixture(scope="module")
def migrated(tmp_path_factory) -> Path:
    """A data folder with an up-to-date, empty database, migrated once for the module."""
    folder = tmp_path_factory.mktemp("migrated") / "data"
    ok(kehu(folder, "migrate", "--noinput", "-v", "0"))
    (folder / "secret_key").unlink()
    return folder


@pytest.fixture
def data_dir(migrated, tmp_path) -> Path:
    folder = tmp_path / "data"
    shutil.copytree(migrated, folder)
    return folder


def test_help_lists_kehu_commands_first(tmp_path):
    out = ok(kehu(tmp_path, "--help"))
    first = out.index("Kehu commands:")
    for name in ("serve", "migrate", "demo", "createtenant", "createuser", "worker", "shell"):
        assert re.search(rf"^  {name}\s", out[first:], re.M), name
    assert out.index("makemigrations") > out.index("createuser")


def test_bench_command_brings_its_own_settings(tmp_path):
    # kehu.bench is not installed in production; `kehu bench` switches to its settings.
    out = ok(kehu(tmp_path, "bench", "--help"))
    assert "generate" in out
    probe = "from django.conf import settings; print('kehu.bench' in settings.INSTALLED_APPS)"
    assert ok(kehu(tmp_path, "shell", "-c", probe)).strip().endswith("False")


def test_demo_creates_the_company_once(data_dir, migrated, tmp_path):
    first = ok(kehu(data_dir, "demo"))
    rows = DEMO_ROW.findall(first)
    roles = [row[0] for row in rows]
    assert sorted(roles) == sorted(permissions.BUILTIN_ROLES), first
    assert all(email == f"{role}@demo.kehu.local" for role, email, _unit, _pw in rows)
    passwords = [row[3] for row in rows]
    assert len(set(passwords)) == len(passwords), "every account gets its own password"
    assert all(len(p) >= 12 for p in passwords)

    world = dump(data_dir)
    assert world["tenants"] == ["演示集团"]
    units = {u["name"]: u for u in world["units"]}
    root = [u for u in world["units"] if u["parent"] is None]
    assert [(u["name"], u["kind"]) for u in root] == [("演示集团", "group")]
    provinces = [u for u in world["units"] if u["kind"] == "province"]
    assert 2 <= len(provinces) <= 3
    assert all(p["parent"] == "演示集团" and p["depth"] == 1 for p in provinces)
    cities = [u for u in world["units"] if u["kind"] == "city"]
    assert cities and all(units[c["parent"]]["kind"] == "province" for c in cities)
    teams = [u for u in world["units"] if u["kind"] == "team"]
    assert teams and all(units[t["parent"]]["kind"] == "city" for t in teams)
    assert {u["depth"] for u in teams} == {3}

    users = world["users"]
    assert sorted(r for u in users for r in u["roles"]) == sorted(permissions.BUILTIN_ROLES)
    # Apps contribute demo data: customers owned by the demo people, a group hierarchy.
    customers = world["customers"]
    assert len(customers) >= 10
    assert any(c["owner"] == "account_manager@demo.kehu.local" for c in customers)
    assert any(c["parent"] == "中国华信通信集团有限公司" for c in customers)
    assert all(len(u["roles"]) == 1 and u["usable"] for u in users)
    by_role = {u["roles"][0]: u for u in users}
    assert units[by_role["province_manager"]["unit"]]["kind"] == "province"
    assert units[by_role["city_manager"]["unit"]]["kind"] == "city"
    assert by_role["tenant_admin"]["unit"] == "演示集团"

    # The second run creates nothing and prints no password.
    second = ok(kehu(data_dir, "demo"))
    assert "already exists" in second
    assert not DEMO_ROW.findall(second)
    assert not any(p in second for p in passwords)
    assert dump(data_dir) == world

    # A fresh data folder gets different passwords: nothing is hard-coded.
    other_dir = tmp_path / "other"
    shutil.copytree(migrated, other_dir)
    other = {row[0]: row[3] for row in DEMO_ROW.findall(ok(kehu(other_dir, "demo")))}
    assert other.keys() == set(roles)
    assert not set(other.values()) & set(passwords)


def test_demo_passwords_let_users_sign_in(data_dir):
    rows = DEMO_ROW.findall(ok(kehu(data_dir, "demo")))
    role, email, _unit, password = rows[2]
    check = (
        "from kehu.core.auth import login_with_password; "
        f"print('SIGNED-IN', login_with_password({email!r}, {password!r}).email)"
    )
    assert f"SIGNED-IN {email}" in ok(kehu(data_dir, "shell", "-c", check)), role


def test_createtenant_and_createuser(data_dir):
    out = ok(kehu(data_dir, "createtenant", "--company", "华夏通信集团", "--admin-name", "张总",
                  "--email", "admin@huaxia.test"))
    generated = re.search(r"^Password: (\S+)$", out, re.M)
    assert generated, out
    assert "华夏通信集团" in out

    ok(kehu(data_dir, "createtenant", "--company", "远方科技", "--admin-name", "远方管理员",
            "--email", "boss@yuanfang.test", "--password", "Yuanfang-pass-2026"))

    out = ok(kehu(data_dir, "createuser", "--tenant-email", "admin@huaxia.test",
                  "--email", "Rep@Huaxia.test", "--name", "李客户经理", "--unit", "华夏通信集团",
                  "--role", "account_manager"))
    assert re.search(r"^Password: \S{12,}$", out, re.M), out
    assert "acting as admin@huaxia.test" in out

    world = dump(data_dir)
    users = {u["email"]: u for u in world["users"]}
    assert users["rep@huaxia.test"] == {"email": "rep@huaxia.test", "unit": "华夏通信集团",
                                        "roles": ["account_manager"], "usable": True}
    assert users["admin@huaxia.test"]["roles"] == ["tenant_admin"]
    assert users["boss@yuanfang.test"]["unit"] == "远方科技"

    # The audit trail names the tenant's admin as the actor.
    check = (
        "from kehu.core.models import AuditEvent; "
        "e = AuditEvent.objects.filter(action='user.create', object_repr__contains='rep@')"
        ".get(); print('ACTOR', e.actor.email)"
    )
    assert "ACTOR admin@huaxia.test" in ok(kehu(data_dir, "shell", "-c", check))


def test_createuser_by_tenant_id_and_role_name(data_dir):
    ok(kehu(data_dir, "createtenant", "--company", "华夏通信集团", "--admin-name", "张总",
            "--email", "admin@huaxia.test", "--password", "Huaxia-pass-2026"))
    out = ok(kehu(data_dir, "shell", "-c", (
        "from kehu.core.models import Role, Tenant; t = Tenant.objects.get(); "
        "print('FOUND', t.pk, Role.objects.get(tenant=t, builtin_key='analyst').name)"
    )))
    found = re.search(r"^FOUND (\d+) (.+)$", out, re.M)
    assert found, out
    tenant_id, role_name = found.groups()
    out = ok(kehu(data_dir, "createuser", "--tenant-email", tenant_id, "--email",
                  "an@huaxia.test", "--name", "王分析", "--unit", "华夏通信集团", "--role",
                  role_name, "--password", "Analyst-pass-2026"))
    assert "Password:" not in out
    users = {u["email"]: u for u in dump(data_dir)["users"]}
    assert users["an@huaxia.test"]["roles"] == ["analyst"]


def failed(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    return done.stderr


def test_bad_input_gives_clear_errors_without_tracebacks(data_dir):
    ok(kehu(data_dir, "createtenant", "--company", "华夏通信集团", "--admin-name", "张总",
            "--email", "admin@huaxia.test", "--password", "Huaxia-pass-2026"))

    err = failed(kehu(data_dir, "createtenant", "--company", "另一家公司", "--admin-name", "李",
                      "--email", "ADMIN@huaxia.test"))
    # Field errors come from the services (translated); the field name leads each line.
    assert re.search(r"^(CommandError: )?email: ", err, re.M), err

    err = failed(kehu(data_dir, "createtenant", "--company", "华夏通信集团", "--admin-name", "李",
                      "--email", "new@huaxia.test"))
    assert re.search(r"^(CommandError: )?company_name: ", err, re.M), err

    def createuser(*extra: str) -> str:
        base = {"--tenant-email": "admin@huaxia.test", "--email": "u@huaxia.test",
                "--name": "用户", "--unit": "华夏通信集团", "--role": "account_manager"}
        args = [x for pair in base.items() for x in pair]
        for flag, value in zip(extra[::2], extra[1::2], strict=True):
            args[args.index(flag) + 1] = value
        return failed(kehu(data_dir, "createuser", *args))

    assert re.search(r"^(CommandError: )?email: ", createuser("--email", "admin@huaxia.test"),
                     re.M)
    assert "No user with email nobody@x.test" in createuser("--tenant-email", "nobody@x.test")
    assert "No tenant with id 999" in createuser("--tenant-email", "999")
    assert "No org unit “火星分公司”" in createuser("--unit", "火星分公司")
    assert "No role “pilot”" in createuser("--role", "pilot")
    assert re.search(r"^(CommandError: )?email: ", createuser("--email", "not-an-email"), re.M)
    assert "password: " in failed(kehu(
        data_dir, "createuser", "--tenant-email", "admin@huaxia.test", "--email", "u@huaxia.test",
        "--name", "用户", "--unit", "华夏通信集团", "--role", "account_manager",
        "--password", "short"))
    # Nothing was created by the failed attempts.
    assert [u["email"] for u in dump(data_dir)["users"]] == ["admin@huaxia.test"]


def test_serve_rejects_bad_port(tmp_path):
    err = failed(kehu(tmp_path, "serve", "--port", "70000"))
    assert "not a valid port" in err


def test_createsuperuser_explains_the_alternative(data_dir):
    result = kehu(data_dir, "createsuperuser", "--noinput", "--email", "su@example.test")
    assert result.returncode == 1
    assert "createtenant" in result.stderr
    assert "Traceback" not in result.stderr
