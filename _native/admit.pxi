# Route, authenticate, authorize the model, pick the upstream target: one crossing per request.

import hashlib

from gateway.admission import rejections as _rej

# Pre-bound once so the hot path does no attribute lookups (uvloop's habit).
cdef object _sha256 = hashlib.sha256


cdef class Decision:
    """Admission said yes: where the request goes and on whose behalf."""
    cdef readonly int route
    cdef readonly str key_id
    cdef readonly str tenant
    cdef readonly str app
    cdef readonly object models      # frozenset of allowed groups, or None for all
    cdef readonly str group          # None for routes without a model
    cdef readonly object target      # the glue's upstream target, None without a model

    def __repr__(self):
        return f"Decision(route={self.route}, app={self.app!r}, group={self.group!r})"


cdef class _Consumer:
    cdef str key_id
    cdef str tenant
    cdef str app
    cdef object models


cdef class _Group:
    cdef str name
    cdef tuple targets
    cdef Py_ssize_t count
    cdef Py_ssize_t next_index


cdef class AdmissionTable:
    """Immutable tables built from an `AdmissionSpec`; a config change builds a new one."""
    cdef dict _routes          # (method, path) -> route id
    cdef set _paths            # paths known under any method, to tell 405 from 404
    cdef dict _consumers       # sha256 digest -> _Consumer
    cdef dict _groups          # name -> _Group

    def __init__(self, spec):
        cdef _Consumer c
        cdef _Group g
        self._routes = dict(spec.routes)
        self._paths = {path for (_, path) in spec.routes}
        self._consumers = {}
        for cs in spec.consumers:
            c = _Consumer()
            c.key_id = cs.key_id
            c.tenant = cs.tenant
            c.app = cs.app
            c.models = cs.models
            self._consumers[cs.digest] = c
        self._groups = {}
        for gs in spec.groups:
            g = _Group()
            g.name = gs.name
            g.targets = tuple(gs.targets)
            g.count = len(g.targets)
            g.next_index = 0
            self._groups[gs.name] = g

    @property
    def consumer_count(self):
        return len(self._consumers)

    def group_names(self):
        return sorted(self._groups)

    def admit(self, str method, str path, str credential, str model):
        """Return a `Decision`, or a `Rejection` saying why not.

        `model` is None where the route takes none or the body could not be read; then no
        upstream target is chosen.
        """
        route = self._routes.get((method, path))
        if route is None:
            if path in self._paths:
                return _rej.wrong_method(method, path)
            return _rej.unknown_route(method, path)
        if not credential:
            return _rej.missing_key()
        cdef _Consumer c = self._consumers.get(_sha256(credential.encode()).digest())
        if c is None:
            return _rej.invalid_key()
        cdef Decision d = Decision()
        d.route = route
        d.key_id = c.key_id
        d.tenant = c.tenant
        d.app = c.app
        d.models = c.models
        d.group = None
        d.target = None
        if model is None:
            return d
        cdef _Group g = self._groups.get(model)
        if g is None or (c.models is not None and model not in c.models):
            return _rej.unknown_model(model)
        d.group = g.name
        d.target = g.targets[g.next_index]
        g.next_index = (g.next_index + 1) % g.count
        return d
