"""The maintenance guide, written from what this run deployed: only the services and parts that are there.

Each section is a title and a list of steps; a step is a sentence and the commands that carry it out.
Values (versions, folders, schedules) come from the inventory's settings, so the guide matches the server.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from orchestrator.report.role_vars import Settings


@dataclass
class Step:
    text: str
    commands: list[str] = field(default_factory=list)


@dataclass
class Section:
    id: str
    title: str
    steps: list[Step] = field(default_factory=list)


def guide(deployed: set[str], settings: Settings, inventory: str, run_id: str, run_dir: str,
          vault_files: list[str], hostnames: dict[str, str], password_file: str | None = None) -> list[Section]:
    inv = inventory
    sections = [
        _updates(deployed, settings, inv),
        _backups(deployed, settings, inv, vault_files),
        _certificates(deployed, settings, hostnames),
        _secrets(deployed, settings, inv, vault_files, password_file or f"{inv}/.vault-pass"),
        _logs(deployed, settings, run_dir, run_id, inv, hostnames),
        _rerun(inv, run_id),
    ]
    return [s for s in sections if s.steps]


def _updates(deployed: set[str], s: Settings, inv: str) -> Section:
    sec = Section("updates", "Updates")
    if "base_server" in deployed:
        if s.get("base_server_unattended_upgrades_enabled", True):
            sec.steps.append(Step("Security updates of the system packages install themselves every day "
                                  "(unattended-upgrades). See what they did:",
                                  ["less /var/log/unattended-upgrades/unattended-upgrades.log"]))
        sec.steps.append(Step("Upgrade every package by hand, then reboot if a new kernel came in:",
                              ["apt update && apt full-upgrade", "test -f /var/run/reboot-required && reboot"]))
    if "n8n" in deployed:
        sec.steps.append(Step(
            f"n8n runs the pinned image version n8n_version = {s.get('n8n_version', '?')} (PostgreSQL "
            f"n8n_postgres_version = {s.get('n8n_postgres_version', '?')}). To upgrade, take a backup, set the new "
            f"version in {inv}/group_vars/all/n8n.yml and re-run the n8n phase. A new PostgreSQL major version "
            "needs a dump and restore: do not change n8n_postgres_version in place.",
            ["systemctl start n8n-backup", f"aidevops run --inventory {inv} --only n8n"]))
    if "supabase" in deployed:
        sec.steps.append(Step(
            "Supabase's images are pinned by the supabase role's version variables (see roles/supabase/README.md). "
            f"Set new versions in {inv}/group_vars/all/supabase.yml, back up, and re-run the supabase phase.",
            [f"aidevops run --inventory {inv} --only supabase"]))
    return sec


def _backups(deployed: set[str], s: Settings, inv: str, vault_files: list[str]) -> Section:
    sec = Section("backups", "Backups and restore")
    if "n8n" in deployed:
        project = s.get("n8n_project_dir", "/opt/aidevops/n8n")
        backup_dir = s.get("n8n_backup_dir", "/var/backups/n8n")
        if s.get("n8n_backup_enabled", True):
            sec.steps.append(Step(
                f"n8n is backed up nightly by n8n-backup.timer ({s.get('n8n_backup_on_calendar', '?')} UTC) into "
                f"{backup_dir}: a pg_dump of its database (n8n-<time>.dump), its data folder (.files.tar.gz) and its "
                f"encryption key (.key), kept {s.get('n8n_backup_retention_days', '?')} days. The key must go with "
                "the dump: the credentials stored in n8n cannot be decrypted without it. Copy all three off the "
                "server regularly.",
                ["systemctl list-timers n8n-backup.timer", "systemctl start n8n-backup && journalctl -u n8n-backup -n 5",
                 f"ls -lt {backup_dir} | head"]))
        else:
            sec.steps.append(Step("n8n's nightly backups are switched off (n8n_backup_enabled: false): set it to true "
                                  "and re-run the n8n phase, or back up by other means."))
        db, user = s.get("n8n_db_name", "n8n"), s.get("n8n_db_user", "n8n")
        sec.steps.append(Step(
            "Restore n8n: stop n8n, load the dump into its database, make sure n8n_encryption_key in the vault is the "
            "key saved beside that dump (the .key file), then start n8n again.",
            [f"cd {project} && docker compose stop n8n",
             (f"docker compose exec -T postgres pg_restore --clean --if-exists -U {user} -d {db} "
              f"< {backup_dir}/n8n-<time>.dump"),
             f"cat {backup_dir}/n8n-<time>.key   # must match n8n_encryption_key in the vault",
             "docker compose start n8n"]))
    if "supabase" in deployed:
        sec.steps.append(Step(
            "Supabase keeps its data in PostgreSQL (compose service db). Dump it from the Supabase project folder, and "
            "keep the vault's Supabase secrets (JWT secret and the keys derived from it) with the dump.",
            ["docker compose exec -T db pg_dumpall -U postgres > supabase-$(date -u +%Y%m%dT%H%M%SZ).sql"]))
    if sec.steps and vault_files:
        sec.steps.append(Step("Keep a copy of the inventory's vault files and of its vault password off the server: "
                              "they are needed to rebuild it.", [f"ls -l {inv}/{f}" for f in vault_files]))
    return sec


def _certificates(deployed: set[str], s: Settings, hostnames: dict[str, str]) -> Section:
    sec = Section("certificates", "Certificate renewal")
    if "nginx_proxy" not in deployed:
        return sec
    sec.steps.append(Step(
        "Certificates come from the ACME CA over HTTP-01 and renew by themselves: certbot.timer runs "
        "`certbot renew` twice a day, and the deploy hook /etc/letsencrypt/renewal-hooks/deploy/aidevops-nginx-reload "
        "reloads nginx after each renewal. Port 80 must stay open for the challenges.",
        ["systemctl list-timers certbot.timer", "certbot certificates", "certbot renew --dry-run"]))
    names = " ".join(hostnames.values())
    if names:
        sec.steps.append(Step("Check the certificate a name serves from outside:",
                              [f"echo | openssl s_client -connect {n}:443 -servername {n} 2>/dev/null | "
                               "openssl x509 -noout -enddate" for n in hostnames.values()]))
    email = s.get("nginx_proxy_acme_email")
    if email:
        sec.steps.append(Step(f"Expiry notices from the CA go to {email}."))
    return sec


def _secrets(deployed: set[str], s: Settings, inv: str, vault_files: list[str], password_file: str) -> Section:
    sec = Section("secrets", "Secret rotation")
    project = s.get("n8n_project_dir", "/opt/aidevops/n8n")
    if not vault_files:
        return sec
    sec.steps.append(Step(
        "The generated secrets live in the inventory's vault files, encrypted with its vault password "
        f"({password_file}). A re-run reuses them; it never rotates them by itself.",
        [f"ansible-vault view --vault-password-file {password_file} {inv}/{f}" for f in vault_files]
        + [f"ansible-vault rekey --vault-password-file {password_file} {inv}/group_vars/all/vault_*.yml"]))
    if "n8n" in deployed:
        sec.steps.append(Step(
            "Do not rotate n8n_encryption_key (N8N_ENCRYPTION_KEY) in place: every credential saved in n8n is "
            "encrypted with it, and a new key leaves them unreadable (n8n reports mismatching encryption keys). To "
            "change it, export the credentials decrypted, change the key, re-run, and import them again.",
            [(f"cd {project} && docker compose exec n8n n8n export:credentials --all --decrypted "
              "--output=/home/node/.n8n/creds.json"),
             f"aidevops run --inventory {inv} --only n8n   # after setting the new n8n_encryption_key in the vault",
             ("docker compose exec n8n n8n import:credentials --input=/home/node/.n8n/creds.json && "
              "docker compose exec n8n rm /home/node/.n8n/creds.json")]))
        sec.steps.append(Step(
            "n8n_db_password: PostgreSQL keeps the password it was created with. Change it in the database first "
            "(ALTER USER), then in the vault, then re-run the n8n phase. The n8n owner's password is used only to "
            "create the account: change it in n8n (Settings → Personal)."))
    if "supabase" in deployed:
        sec.steps.append(Step(
            "Supabase's anon and service_role keys are signed with its JWT secret: rotating the secret means new keys "
            "for every client that uses them."))
    return sec


def _logs(deployed: set[str], s: Settings, run_dir: str, run_id: str, inv: str,
          hostnames: dict[str, str]) -> Section:
    sec = Section("logs", "Where the logs are")
    if "nginx_proxy" in deployed:
        log_dir = s.get("nginx_proxy_log_dir", "/var/log/nginx")
        sites = [name for name in ("n8n", "supabase", "studio") if name in hostnames]
        sec.steps.append(Step("nginx writes one access and one error log per site:",
                              [f"tail -f {log_dir}/{site}.access.log {log_dir}/{site}.error.log" for site in sites]))
    if "n8n" in deployed:
        sec.steps.append(Step("n8n and its database (Docker Compose):",
                              [f"cd {s.get('n8n_project_dir', '/opt/aidevops/n8n')} && docker compose logs -f --tail 100",
                               "journalctl -u n8n-backup"]))
    if "supabase" in deployed:
        sec.steps.append(Step("Supabase (Docker Compose, from its project folder):", ["docker compose logs -f --tail 100"]))
    if "base_server" in deployed:
        sec.steps.append(Step("System services (journald): SSH, Docker, fail2ban, certificate renewals:",
                              ["journalctl -u ssh -u docker -u fail2ban --since today", "journalctl -u certbot"]))
    sec.steps.append(Step(
        f"This run, on the machine that ran aidevops: its JSON log and the ansible-runner artifacts of each phase "
        f"are under {run_dir}/.",
        [f"less {run_dir}/run.log.jsonl", f"aidevops runs events {run_id} --inventory {inv} --failed"]))
    return sec


def _rerun(inv: str, run_id: str) -> Section:
    return Section("rerun", "Re-run and validate", [Step(
        "A run is safe to repeat: it brings the server back to what the inventory asks for and reuses the saved "
        "secrets. Check the server without changing it, review past runs, or render this report again:",
        [f"aidevops run --inventory {inv}", f"aidevops run --inventory {inv} --check", f"aidevops validate --inventory {inv}",
         f"aidevops runs show {run_id} --inventory {inv}", f"aidevops report {run_id} --inventory {inv}"])])
