"""Local test hosts: systemd containers reached over real SSH on 127.0.0.1, for the demo, tests and Molecule.

hosts.py the hosts (Sandbox), services.py the ACME CA and DNS server beside them, base_image.py and
app_images.py the images built with no registry (each runnable: python -m orchestrator.sandbox.app_images).
"""
