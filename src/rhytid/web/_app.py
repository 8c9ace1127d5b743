"""The FastAPI application factory."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException
from threadpoolctl import threadpool_limits

from rhytid._version import __version__
from rhytid.errors import PermissionDenied, RhytidError
from rhytid.store import (
    ConflictError,
    GoneError,
    NotFoundError,
    is_migrated,
    make_engine,
    migrate,
    session_factory,
)
from rhytid.store._photos import sweep_stale
from rhytid.web import (
    _admin,
    _api,
    _clinic_messages,
    _clinic_profile,
    _consent,
    _filler,
    _intake,
    _logs,
    _openapi,
    _pages,
    _planner,
    _render,
    _reports,
    _schedule,
    _totp,
)
from rhytid.web._auth import NotSignedIn
from rhytid.web._delivery import Worker
from rhytid.web._limits import BodyLimit
from rhytid.web._ratelimit import RateLimiter
from rhytid.web._settings import Settings, load_settings
from rhytid.web._warm import ModelWarmUp, freeze_startup_heap
from rhytid.web._words import plain_message, staff_words

__all__ = ["create_app"]

_HERE = Path(__file__).parent

#: BLAS threads while the app serves. A request's model run is small (a preview's matrix products
#: take a few ms); OpenBLAS's own threads only contend with the server's other requests and the
#: machine's other work: on a loaded 2-core machine a new-plan preview took p50 78 ms with
#: OpenBLAS's default threads and 8 ms with one (benchmarks/bench_planner.py, 2026-12-02).
#: Requests run side by side in the server's threadpool instead.
BLAS_THREADS = 1


def _status(exc: RhytidError) -> int:
    """The HTTP status of an error, by its type."""
    for kind, status in (
        (NotFoundError, 404),
        (PermissionDenied, 403),
        (ConflictError, 409),
        (GoneError, 410),
    ):
        if isinstance(exc, kind):
            return status
    return 422


def _field(message: str) -> str | None:
    head, sep, _ = message.partition(":")
    return head.strip() if sep and 0 < len(head.strip()) <= 40 else None


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def create_app(
    database_url: str | None = None,
    *,
    settings: Settings | None = None,
    migrate_on_start: bool = True,
) -> FastAPI:
    """The clinic app on ``database_url`` (default: RHYTID_DATABASE_URL, else SQLite in the data dir)."""
    settings = settings or load_settings(database_url)
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if migrate_on_start:
            migrate(engine)
        sweep_stale(settings.photo_dir)
        _logs.install()  # uvicorn has configured its loggers by now
        worker = app.state.outbox = Worker(app.state.sessions, settings)  # outbox delivery thread
        worker.start()
        blas = threadpool_limits(limits=BLAS_THREADS, user_api="blas")
        freeze_startup_heap()
        warm_up = app.state.model_warm_up = ModelWarmUp()  # freezes again once the model is loaded
        warm_up.start()
        try:
            yield
        finally:
            warm_up.stop()
            gc.unfreeze()  # another app in this process (tests) may collect what this one left
            blas.restore_original_limits()
            worker.stop()
            engine.dispose()

    app = FastAPI(
        title="Rhytid clinic",
        version=__version__,
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = session_factory(engine)
    app.state.read_sessions = session_factory(engine, read_only=True)
    app.state.signin_limiter = RateLimiter(settings.signin_per_minute, 60.0)

    @app.exception_handler(RhytidError)
    async def _rhytid_error(request: Request, exc: RhytidError) -> Response:
        status = _status(exc)
        if _wants_html(request):
            return _render.error_page(request, status, str(exc))
        extra = getattr(exc, "extra", None) or {}  # e.g. the review of a refused treatment
        body = {"detail": str(exc), "field": exc.field, "message": staff_words(str(exc)), **extra}
        return JSONResponse(body, status_code=status)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors: list[dict[str, Any]] = []
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "form")]
            errors.append({"field": ".".join(loc), "msg": plain_message(e), "type": e.get("type")})
        first = errors[0] if errors else {"field": "", "msg": "invalid request"}
        message = f"{first['field'] or 'request'}: {first['msg']}"
        if _wants_html(request):
            return _render.error_page(request, 422, message)
        return JSONResponse(
            {"detail": message, "field": first["field"], "message": staff_words(message), "errors": errors},
            status_code=422,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request):
            return _render.error_page(request, exc.status_code, str(exc.detail))
        detail = str(exc.detail)
        if exc.status_code == 400 and detail.startswith("There was an error parsing the body"):
            detail = _openapi.UNPARSEABLE_BODY  # Starlette's words name no field
        return JSONResponse(
            {"detail": detail, "field": _field(detail), "message": staff_words(detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(NotSignedIn)
    async def _not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        return RedirectResponse(f"/signin?next={request.url.path}", status_code=303)

    @app.exception_handler(SQLAlchemyError)
    async def _db_error(request: Request, exc: SQLAlchemyError) -> Response:
        status = 503 if isinstance(exc, OperationalError) else 409
        message = (
            "database: busy or unreachable; try again"
            if status == 503
            else "request: conflicts with stored data"
        )
        return JSONResponse(
            {"detail": message, "field": None, "message": staff_words(message)}, status_code=status
        )

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'",
        )
        if request.url.path.startswith(("/p/", "/api/")) or "text/html" in response.headers.get(
            "content-type", ""
        ):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        try:
            ok = is_migrated(engine)
        except SQLAlchemyError:
            ok = False
        if not ok:
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    app.add_middleware(BodyLimit)
    app.include_router(_api.router)
    app.include_router(_planner.api)
    app.include_router(_consent.api)
    app.include_router(_clinic_messages.api)
    app.include_router(_consent.router)
    app.include_router(_clinic_messages.router)
    app.include_router(_clinic_profile.router)
    app.include_router(_schedule.api)
    app.include_router(_schedule.router)
    app.include_router(_reports.router)
    app.include_router(_totp.api)
    app.include_router(_totp.router)
    app.include_router(_pages.router)
    app.include_router(_intake.router)
    app.include_router(_admin.router)
    app.include_router(_filler.router)
    _openapi.install(app)
    app.mount("/static", StaticFiles(directory=_HERE / "static"), name="static")
    return app
