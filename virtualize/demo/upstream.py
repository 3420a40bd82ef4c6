"""The demo upstream: the petstore API of ``specs/petstore.yaml``, in memory, as a small Starlette app.

It implements every operation of the spec (base path ``/v1``), seeded with three pets, answers
errors as ``application/problem+json`` (RFC 9457), and checks ``X-API-Key`` against the key it is
given on every operation but ``getHealth``, as the spec's security says.

    python -m virtualize.demo.upstream --port 4010 --key demo-key
"""

from __future__ import annotations

import argparse
import base64
import re
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DEMO_KEY = "demo-petstore-key"
STATUSES = ("available", "pending", "sold")
# A 1x1 transparent PNG: what getPetPhoto returns for a pet that has no uploaded photo.
_PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
_DEEP = re.compile(r"^filter\[(\w+)\]$")


def _problem(status: int, title: str, detail: str) -> JSONResponse:
    return JSONResponse(
        {"type": "about:blank", "title": title, "status": status, "detail": detail},
        status_code=status,
        media_type="application/problem+json",
    )


class PetStore:
    """The in-memory store and the operations over it."""

    def __init__(self, key: str = DEMO_KEY) -> None:
        self.key = key
        self.pets: dict[int, dict[str, Any]] = {}
        self.photos: dict[int, bytes] = {}
        self.next_id = 1
        for name, tag, status in (("Rex", "dog", "available"), ("Tom", "cat", "pending"), ("Nemo", None, "sold")):
            self._add({"name": name, "tag": tag, "status": status})

    def _add(self, fields: dict[str, Any]) -> dict[str, Any]:
        pet = {"id": self.next_id, "name": fields["name"], "tag": fields.get("tag"), "status": "available"}
        pet.update({k: fields[k] for k in ("status", "birthDate") if k in fields})
        self.pets[self.next_id] = pet
        self.next_id += 1
        return pet

    def _pet(self, request: Request) -> dict[str, Any] | Response:
        raw = request.path_params["pet_id"]
        if not raw.isdigit():
            return _problem(400, "Bad Request", f"petId must be an integer, not {raw[:40]!r}")
        pet = self.pets.get(int(raw))
        return pet if pet is not None else _problem(404, "Not Found", f"no pet with id {raw}")

    def _unauthorized(self, request: Request) -> Response | None:
        if request.headers.get("x-api-key") != self.key:
            return _problem(401, "Unauthorized", "send the demo API key in X-API-Key")
        return None

    async def _json_body(self, request: Request) -> dict[str, Any] | Response:
        try:
            body = await request.json()
        except ValueError:
            return _problem(400, "Bad Request", "the body is not JSON")
        if not isinstance(body, dict) or not isinstance(body.get("name"), str) or not body["name"]:
            return _problem(422, "Unprocessable Content", "a pet needs a non-empty name")
        if "status" in body and body["status"] not in STATUSES:
            return _problem(422, "Unprocessable Content", f"status must be one of {', '.join(STATUSES)}")
        return body

    # -- operations ------------------------------------------------------------------------

    async def get_health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def list_pets(self, request: Request) -> Response:
        if denied := self._unauthorized(request):
            return denied
        limit_text = request.query_params.get("limit", "20")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
            return _problem(400, "Bad Request", "limit must be an integer from 1 to 100")
        pets = list(self.pets.values())
        if "status" in request.query_params:
            pets = [p for p in pets if p["status"] == request.query_params["status"]]
        if "tags" in request.query_params:
            tags = set(request.query_params["tags"].split(","))
            pets = [p for p in pets if p["tag"] in tags]
        return JSONResponse(pets[: int(limit_text)])

    async def create_pet(self, request: Request) -> Response:
        if denied := self._unauthorized(request):
            return denied
        body = await self._json_body(request)
        if isinstance(body, Response):
            return body
        return JSONResponse(self._add(body), status_code=201)

    async def search_pets(self, request: Request) -> Response:
        if denied := self._unauthorized(request):
            return denied
        wanted = {m.group(1): v for k, v in request.query_params.items() if (m := _DEEP.match(k))}
        pets = [
            p
            for p in self.pets.values()
            if all(str(p.get(field)) == value for field, value in wanted.items() if field in ("status", "tag"))
        ]
        headers = {"X-Request-Id": request.headers["x-request-id"]} if "x-request-id" in request.headers else {}
        return JSONResponse(pets, headers=headers)

    async def pet(self, request: Request) -> Response:
        if denied := self._unauthorized(request):
            return denied
        pet = self._pet(request)
        if isinstance(pet, Response):
            return pet
        if request.method == "DELETE":
            del self.pets[pet["id"]]
            self.photos.pop(pet["id"], None)
            return Response(status_code=204)
        if request.method == "PUT":
            body = await self._json_body(request)
            if isinstance(body, Response):
                return body
            pet.update({k: body[k] for k in ("name", "tag", "status", "birthDate") if k in body})
        return JSONResponse(pet)

    async def photo(self, request: Request) -> Response:
        if denied := self._unauthorized(request):
            return denied
        pet = self._pet(request)
        if isinstance(pet, Response):
            return pet
        if request.method == "GET":
            return Response(self.photos.get(pet["id"], _PIXEL), media_type="image/png")
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            return _problem(400, "Bad Request", "send the photo as the multipart part 'file'")
        data = await upload.read()
        self.photos[pet["id"]] = data
        return JSONResponse({"petId": pet["id"], "bytes": len(data), "caption": form.get("caption")})


def create_app(key: str = DEMO_KEY) -> Starlette:
    store = PetStore(key)
    return Starlette(
        routes=[
            Route("/v1/health", store.get_health, methods=["GET"]),
            Route("/v1/pets", store.list_pets, methods=["GET"]),
            Route("/v1/pets", store.create_pet, methods=["POST"]),
            Route("/v1/pets/search", store.search_pets, methods=["GET"]),
            Route("/v1/pets/{pet_id}", store.pet, methods=["GET", "PUT", "DELETE"]),
            Route("/v1/pets/{pet_id}/photo", store.photo, methods=["GET", "POST"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="The petstore demo upstream.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010)
    parser.add_argument("--key", default=DEMO_KEY, help="the API key clients must send in X-API-Key")
    options = parser.parse_args()
    uvicorn.run(create_app(options.key), host=options.host, port=options.port, log_level="warning")


if __name__ == "__main__":
    main()
