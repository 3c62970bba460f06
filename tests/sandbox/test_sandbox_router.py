"""The Router both fakes share: whole-path patterns, named groups, 404 versus 405 in the service's own shape."""

from __future__ import annotations

import pytest

from worker.sandbox.httpbase import Request, Response, Router


def _router() -> Router[list[str]]:
    router: Router[list[str]] = Router(
        not_found=lambda request: Response(404, {"missing": request.path}),
        method_not_allowed=lambda request, allowed: Response(405, {"allowed": list(allowed)}),
    )

    @router.route("GET", r"/things")
    def list_things(seen: list[str], request: Request) -> Response:
        seen.append("list")
        return Response(200, {"things": []})

    @router.route("get", r"/things/(?P<id>\d+)(?:/(?P<part>[a-z]+))?")
    def show_thing(seen: list[str], request: Request) -> Response:
        seen.append("show")
        return Response(200, dict(request.params))

    @router.route("DELETE", r"/things/(?P<id>\d+)")
    def delete_thing(seen: list[str], request: Request) -> Response:
        return Response(204)

    return router


def _get(router: Router[list[str]], path: str, method: str = "GET", seen: list[str] | None = None) -> Response:
    return router.dispatch([] if seen is None else seen, Request(method, path, "", {}))


def test_named_groups_become_params_and_the_state_is_passed() -> None:
    router, seen = _router(), []
    assert _get(router, "/things/42", seen=seen).body == {"id": "42"}  # an unmatched optional group is left out
    assert _get(router, "/things/42/name", seen=seen).body == {"id": "42", "part": "name"}
    assert _get(router, "/things", seen=seen).status == 200
    assert seen == ["show", "show", "list"]


def test_patterns_match_the_whole_path() -> None:
    router = _router()
    for path in ("/things/", "/things/42x", "/api/things", "/things/42/Name"):
        assert (_get(router, path).status, _get(router, path).body) == (404, {"missing": path})


def test_a_known_path_with_another_method_is_method_not_allowed() -> None:
    router = _router()
    assert _get(router, "/things/7", "DELETE").status == 204
    answer = _get(router, "/things/7", "PUT")
    assert (answer.status, answer.body) == (405, {"allowed": ["GET", "DELETE"]})
    assert _get(router, "/things", "POST").body == {"allowed": ["GET"]}


def test_dispatch_can_route_a_normalised_path() -> None:
    router = _router()
    request = Request("GET", "/things/9.json", "", {})
    assert router.dispatch([], request, path="/things/9").body == {"id": "9"}


def test_registering_the_same_route_twice_is_an_error() -> None:
    router = _router()
    with pytest.raises(ValueError, match="already registered"):
        router.route("DELETE", r"/things/(?P<id>\d+)")
