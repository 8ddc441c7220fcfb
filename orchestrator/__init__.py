"""aidevops: an Ansible-backed orchestrator that turns a fresh VPS into a hardened n8n + Supabase server."""

__version__ = "0.1.0"
