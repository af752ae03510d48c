# nova-ibmz: every install goes through constraints.txt.

PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
STAMP := $(VENV)/.installed-stamp
# The sandbox's API port (0: a free one; clouds.yaml names the address).
SANDBOX_PORT ?= 8774

.PHONY: help venv test bench sandbox sandbox-scaleout demo docs sample-config \
	constraints clean debian-packages

help:
	@echo "make sandbox        run the all-in-one cloud on the simulators"
	@echo "make sandbox-scaleout  the same cloud, every service a process"
	@echo "make demo           the sandbox's scripted tour of both drivers"
	@echo "make test           create $(VENV) if needed and run every test"
	@echo "make bench          measure the drivers on the simulators (benchmarks/results)"
	@echo "make docs           render doc/support-matrix.md"
	@echo "make sample-config  regenerate the sample configurations in etc/"
	@echo "make constraints    re-pin constraints.txt from a fresh resolve"

# The project itself is installed editable, so the oslo.config entry point
# and the nova/virt/ibmz shim are registered; tests run the source tree.
$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q -c constraints.txt pip setuptools wheel
	$(PIP) install -q -c constraints.txt --no-build-isolation -e '.[test,bench]'
	touch $@

venv: $(STAMP)

# The scale-out sandbox (make sandbox-scaleout, tests/scaleout, its
# benchmark) starts a private RabbitMQ and MariaDB from Debian's packages:
# installed here when missing, as root (their own system services are not
# used); anyone else is told the command.
DEBIAN_PACKAGES := rabbitmq-server mariadb-server
debian-packages:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null \
	        | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	    if [ "$$(id -u)" != 0 ]; then \
	        echo "make: install $$missing first:" \
	            "sudo apt-get install -y $$missing" >&2; exit 1; fi; \
	    echo "make: installing $$missing (Debian packages)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	        apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# Two pytest processes, as Nova and Neutron never share one: the Nova side
# (tests/ but tests/neutron), then the Neutron side (tests/neutron).
# STRICT_CONFORMANCE=1: nova's conformance suite fails on NotImplementedError
# outside each driver's allowed-missing list (tests/conformance/base.py).
test: $(STAMP) debian-packages
	STRICT_CONFORMANCE=1 $(PY) -m pytest tests --ignore=tests/neutron
	$(PY) -m pytest tests/neutron
	$(VENV)/bin/reno lint

# Requests per operation, wall time under a mainframe's latencies, periodic
# work at scale, concurrent boots: benchmarks/results/latest.md and plots.
bench: $(STAMP) debian-packages
	$(PY) -m benchmarks

# The Nova API on 127.0.0.1:$(SANDBOX_PORT), its compute hosts on the
# simulators; state and each host's configuration in .sandbox/.  Ctrl-C
# stops it.
sandbox: $(STAMP)
	$(VENV)/bin/nova-ibmz sandbox --port $(SANDBOX_PORT) --state-dir .sandbox

# The same cloud in scale-out mode: every service a process of its own,
# over a private RabbitMQ and MariaDB (Debian's rabbitmq-server and
# mariadb-server) in .sandbox-scaleout/, with its logs; other options in
# SANDBOX_SCALEOUT_ARGS (--transport-url, --database-url, --dpm-hosts,
# --zvm-hosts).
SANDBOX_SCALEOUT_ARGS ?=
sandbox-scaleout: $(STAMP) debian-packages
	$(VENV)/bin/nova-ibmz sandbox --scale-out --port $(SANDBOX_PORT) \
	    --state-dir .sandbox-scaleout $(SANDBOX_SCALEOUT_ARGS)

# The sandbox on a free port, a tour of both drivers through openstacksdk,
# then stop; fails if a step fails.
demo: $(STAMP)
	$(VENV)/bin/nova-ibmz sandbox --port 0 --state-dir .sandbox-demo --demo

docs: $(STAMP)
	$(PY) doc/tools/render_support_matrix.py -o doc/support-matrix.md

sample-config: $(STAMP)
	for conf in etc/oslo-config-generator/*.conf; do \
	    $(VENV)/bin/oslo-config-generator --config-file $$conf || exit 1; \
	done

# Resolve the newest versions that fit pyproject.toml in a scratch venv and
# pin them all.  Review the diff before committing it.
constraints:
	rm -rf .constraints-venv
	$(PYTHON) -m venv .constraints-venv
	.constraints-venv/bin/pip install -q --upgrade pip setuptools wheel
	.constraints-venv/bin/pip install -q 'SQLAlchemy<2.1' '.[test,bench]'
	{ sed -n '1,/^pip==/p' constraints.txt | sed '$$d'; \
	  .constraints-venv/bin/pip freeze --all --exclude-editable \
	    | grep -v '^nova-ibmz' | grep -iE '^(pip|setuptools|wheel)=='; \
	  .constraints-venv/bin/pip freeze --exclude-editable \
	    | grep -v '^nova-ibmz'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf .constraints-venv

clean:
	rm -rf $(VENV) build *.egg-info
