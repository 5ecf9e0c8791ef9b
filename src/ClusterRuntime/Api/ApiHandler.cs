// The single request handler: health, discovery, authentication, then the generic REST verbs.
using System.Globalization;
using System.Text.Json.Nodes;
using Appliance.ClusterRuntime.Api.Selectors;
using Appliance.ClusterRuntime.Api.Storage;
using Appliance.ClusterRuntime.Auth;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Api;

/// <summary>Serves the Kubernetes API subset described in README.md.</summary>
public sealed partial class ApiHandler(ObjectStore store, Authenticator auth, ServerInfo info, ILogger logger)
{
    /// <summary>Cancelled when the server shuts down; ends open watches.</summary>
    public CancellationToken Stopping { get; init; }

    /// <summary>The in-flight limits (none unless given).</summary>
    public InFlightLimit Limit { get; init; } = new(0, 0);

    /// <summary>How far one watch's client may fall behind, in bytes, before it is cut off.</summary>
    public long WatchBufferBytes { get; init; } = WatchStream.DefaultMaxBufferedBytes;

    /// <summary>The node join endpoints (<c>/v1-appliance/…</c>), when the server issues node certificates.</summary>
    public Join.NodeJoinEndpoint? Join { get; init; }

    /// <summary>The pods/log subresource (proxied to the node's kubelet); 405 when absent.</summary>
    public PodLogs.PodLogProxy? PodLogs { get; init; }

    /// <summary>The pods/exec, attach and portforward subresources (relayed to the node's kubelet); 405 when absent.</summary>
    public PodExec.PodExecProxy? PodExec { get; init; }

    /// <summary>serviceaccounts/token, the OIDC discovery documents and the authentication reviews; 405 and 404 when absent.</summary>
    public ServiceAccounts.TokenRequestEndpoint? TokenRequest { get; init; }

    volatile bool _ready;

    /// <summary>
    /// True once the datastore is open and the system namespaces exist, and false again as soon as
    /// shutdown begins (<see cref="Stopping"/>), so <c>/readyz</c> stops sending traffic here.
    /// </summary>
    public bool Ready { get => _ready && !Stopping.IsCancellationRequested; set => _ready = value; }

    /// <summary>Handles one request.</summary>
    public async Task HandleAsync(HttpContext ctx)
    {
        try
        {
            if (await TryPublicAsync(ctx)) return;
            // Authenticate first (cheap, and cached for certificates), as kube-apiserver does: anonymous floods get 401
            // and never take the slots that authenticated clients need.
            var user = await auth.AuthenticateAsync(ctx);
            if (user is null)
            {
                await HttpIo.WriteErrorAsync(ctx, new ApiException(401, "Unauthorized", "Unauthorized"));
                return;
            }
            using var slot = Limit.Enter(ctx.Request);
            if (!slot.Admitted)
            {
                await InFlightLimit.RefuseAsync(ctx);
                return;
            }
            if (Join is not null && Api.Join.NodeJoinEndpoint.Handles(ctx.Request.Path.Value ?? "/"))
            {
                await Join.HandleAsync(ctx, user);
                return;
            }
            if (AccessReviews.Handles(ctx.Request.Path.Value ?? "/"))
            {
                await new AccessReviews(Authorizer).HandleAsync(ctx, await Impersonation.ApplyAsync(ctx, user, Authorizer));
                return;
            }
            // Who am I (SelfSubjectReview) and the service-account issuer's documents are for every authenticated user
            // (upstream's system:basic-user and service-account-issuer-discovery roles); a TokenReview is authorized below.
            if (TokenRequest is not null && ServiceAccounts.TokenRequestEndpoint.ForEveryUser(ctx.Request.Path.Value)
                && await TokenRequest.TryServeAsync(ctx, await Impersonation.ApplyAsync(ctx, user, Authorizer))) return;
            var ri = RequestInfo.Parse(ctx.Request.Path.Value ?? "/");
            user = await AuthorizeAsync(ctx, user, ri);
            if (TokenRequest is not null && await TokenRequest.TryServeAsync(ctx, user)) return;
            if (ri is null && await TryDiscoveryAsync(ctx)) return;
            await ServeResourceAsync(ctx, ri ?? throw new ApiException(404, "NotFound", "the server could not find the requested resource"), user);
        }
        // Once a streamed response (a list, a watch) has started, its status line is gone: a failure then resets the
        // connection or stream, so the client sees a broken response and retries, never a clean but short one.
        catch (ApiException e)
        {
            if (!ctx.Response.HasStarted) await HttpIo.WriteErrorAsync(ctx, e);
            else CutStarted(ctx, e);
        }
        catch (Datastore.StorageFullException e)
        {
            if (!ctx.Response.HasStarted) await HttpIo.WriteErrorAsync(ctx, ApiException.InsufficientStorage(e.Message));
            else CutStarted(ctx, e);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            logger.LogError(e, "{Method} {Path} failed", ctx.Request.Method, ctx.Request.Path);
            if (!ctx.Response.HasStarted)
                await HttpIo.WriteErrorAsync(ctx, new ApiException(500, "InternalError", "Internal error occurred: " + e.Message));
            else ctx.Abort();
        }
    }

    /// <summary>Resets a response whose status line is already sent, with one warning saying why.</summary>
    void CutStarted(HttpContext ctx, Exception e)
    {
        logger.LogWarning("{Method} {Path} cut after the response started: {Message}", ctx.Request.Method, ctx.Request.Path, e.Message);
        ctx.Abort();
    }

    async Task<bool> TryPublicAsync(HttpContext ctx)
    {
        var path = ctx.Request.Path.Value ?? "/";
        switch (path)
        {
            case "/version":
                await HttpIo.WriteAsync(ctx, 200, info.Version());
                return true;
            case "/healthz" or "/livez" or "/healthz/ping" or "/livez/ping":
                await Plain(ctx, 200, "ok");
                return true;
            case "/readyz" or "/readyz/ping" or "/readyz/datastore":
                await ReadyzAsync(ctx, path);
                return true;
            case "/cacerts":
                ctx.Response.ContentType = "application/x-pem-file";
                await ctx.Response.WriteAsync(info.CaBundlePem);
                return true;
        }
        return false;
    }

    /// <summary>Whether the datastore can write; <c>/readyz</c> fails its <c>datastore</c> check while it cannot.</summary>
    public Datastore.Integrity.DatastoreHealth? DatastoreHealth { get; init; }

    /// <summary>
    /// <c>/readyz</c> as kube-apiserver answers it: <c>ok</c>, or with <c>?verbose</c> one <c>[+]name ok</c> line per
    /// check; a failing check is <c>[-]name failed: reason</c> and status 500.
    /// </summary>
    async Task ReadyzAsync(HttpContext ctx, string path)
    {
        var datastore = !_ready ? "not ready" : DatastoreHealth is { } h ? await h.CheckAsync(store.Clock, ctx.RequestAborted) : null;
        var shutdown = Stopping.IsCancellationRequested ? "the server is shutting down" : null;
        var checks = path switch
        {
            "/readyz/ping" => [("ping", (string?)null)],
            "/readyz/datastore" => [("datastore", datastore)],
            _ => new[] { ("ping", (string?)null), ("datastore", datastore), ("shutdown", shutdown) },
        };
        var failed = checks.Any(c => c.Item2 is not null);
        if (!failed && !ctx.Request.Query.ContainsKey("verbose"))
        {
            await Plain(ctx, 200, "ok");
            return;
        }
        var text = new System.Text.StringBuilder();
        foreach (var (name, failure) in checks) text.Append(failure is null ? $"[+]{name} ok\n" : $"[-]{name} failed: {failure}\n");
        text.Append(failed ? "readyz check failed" : "readyz check passed");
        await Plain(ctx, failed ? 500 : 200, text.ToString());
    }

    static async Task Plain(HttpContext ctx, int code, string text)
    {
        ctx.Response.StatusCode = code;
        ctx.Response.ContentType = "text/plain; charset=utf-8";
        await ctx.Response.WriteAsync(text);
    }

    async Task<bool> TryDiscoveryAsync(HttpContext ctx)
    {
        var path = (ctx.Request.Path.Value ?? "/").TrimEnd('/');
        if (ctx.Request.Method != "GET") return false;
        var aggregated = Discovery.AggregatedVersion(ctx.Request.Headers.Accept);
        ctx.Response.Headers.Vary = "Accept";
        switch (path)
        {
            case "/api":
                if (aggregated is not null) await HttpIo.WriteAsync(ctx, 200, Discovery.Aggregated(core: true, aggregated), Discovery.AggregatedContentType(aggregated));
                else await HttpIo.WriteAsync(ctx, 200, Discovery.CoreVersions($"{ctx.Request.Host.Host}:{ctx.Connection.LocalPort}"));
                return true;
            case "/apis":
                if (aggregated is not null) await HttpIo.WriteAsync(ctx, 200, Discovery.Aggregated(core: false, aggregated), Discovery.AggregatedContentType(aggregated));
                else await HttpIo.WriteAsync(ctx, 200, Discovery.GroupList());
                return true;
        }
        if (path.StartsWith("/openapi/", StringComparison.Ordinal) && await OpenApi.OpenApiEndpoint.TryServeAsync(ctx, path)) return true;
        var seg = path.Trim('/').Split('/');
        if (seg.Length == 2 && seg[0] == "api" && ResourceTable.HasGroupVersion("", seg[1]))
        {
            await HttpIo.WriteAsync(ctx, 200, Discovery.ResourceList("", seg[1]));
            return true;
        }
        if (seg.Length == 2 && seg[0] == "apis" && Discovery.GroupDoc(seg[1]) is { } group)
        {
            await HttpIo.WriteAsync(ctx, 200, group);
            return true;
        }
        if (seg.Length == 3 && seg[0] == "apis" && ResourceTable.HasGroupVersion(seg[1], seg[2]))
        {
            await HttpIo.WriteAsync(ctx, 200, Discovery.ResourceList(seg[1], seg[2]));
            return true;
        }
        return false;
    }

    async Task ServeResourceAsync(HttpContext ctx, RequestInfo ri, UserInfo user)
    {
        var q = ctx.Request.Query;
        var method = ctx.Request.Method;
        bool isWatch = ri.LegacyWatch || q["watch"] is var w && (w == "1" || w == "true");
        if (ri.Subresource == "binding")
        {
            if (method != "POST") throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource ({method})");
            await BindAsync(ctx, ri);
            return;
        }
        if (ri.Subresource == "token")
        {
            if (TokenRequest is null) throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource ({method})");
            await TokenRequest.ServeAsync(ctx, ri.Namespace!, ri.Name!);
            return;
        }
        if (ri.Subresource == "log")
        {
            if (method != "GET" || PodLogs is null) throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource ({method})");
            await PodLogs.ServeAsync(ctx, ri.Namespace!, ri.Name!);
            return;
        }
        if (ri.Subresource is "exec" or "attach" or "portforward")
        {
            if (method is not ("GET" or "POST") || PodExec is null) throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource ({method})");
            if (ri.Subresource == "portforward") await PodExec.PortForward.ServeAsync(ctx, ri.Namespace!, ri.Name!);
            else await PodExec.ServeAsync(ctx, ri.Namespace!, ri.Name!, ri.Subresource);
            return;
        }
        switch (method)
        {
            case "GET" when isWatch:
                await new WatchStream(store, ri, ListOptionsFrom(ctx, ri.Resource, ri.Name), ctx, logger) { User = user.Name, MaxBufferedBytes = WatchBufferBytes }.RunAsync(Stopping);
                break;
            case "GET" when ri.Name is null:
                await ListAsync(ctx, ri);
                break;
            case "GET":
                await GetAsync(ctx, ri);
                break;
            case "POST" when ri.Name is null:
                await CreateAsync(ctx, ri);
                break;
            case "PUT" when ri.Name is not null:
                await ReplaceAsync(ctx, ri);
                break;
            case "PATCH" when ri.Name is not null:
                await PatchAsync(ctx, ri);
                break;
            case "DELETE" when ri.Name is null:
                await DeleteCollectionAsync(ctx, ri);
                break;
            case "DELETE" when ri.Subresource is null:
                await DeleteAsync(ctx, ri);
                break;
            default:
                throw ApiException.MethodNotAllowed($"the server does not allow this method on the requested resource ({method})");
        }
    }

    /// <summary>List options from the query string.</summary>
    static ListOptions ListOptionsFrom(HttpContext ctx, ApiResource r, string? name)
    {
        var q = ctx.Request.Query;
        long limit = 0;
        if (q.TryGetValue("limit", out var l) && !string.IsNullOrEmpty(l) && (!long.TryParse(l, NumberStyles.Integer, CultureInfo.InvariantCulture, out limit) || limit < 0))
            throw ApiException.BadRequest($"invalid limit \"{l}\"");
        var fieldText = (string?)q["fieldSelector"];
        if (name is not null) fieldText = string.IsNullOrEmpty(fieldText) ? $"metadata.name={name}" : $"{fieldText},metadata.name={name}";
        return new ListOptions(
            LabelSelector.Parse(q["labelSelector"]),
            FieldSelector.Parse(fieldText, r),
            limit,
            q["continue"],
            q["resourceVersion"],
            q["resourceVersionMatch"]);
    }

    string Now => Meta.Time(store.Clock.GetUtcNow());
}

/// <summary>Facts about the running server that public endpoints report.</summary>
/// <param name="CaBundlePem">The server CA bundle (served at /cacerts; its SHA-256 is in the node token).</param>
/// <param name="GitVersion">Version string reported by /version.</param>
public sealed record ServerInfo(string CaBundlePem, string GitVersion)
{
    /// <summary>The /version document.</summary>
    public JsonObject Version() => new()
    {
        ["major"] = "1",
        ["minor"] = "32",
        ["gitVersion"] = GitVersion,
        ["gitCommit"] = typeof(ServerInfo).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyInformationalVersionAttribute), false)
            .OfType<System.Reflection.AssemblyInformationalVersionAttribute>().FirstOrDefault()?.InformationalVersion.Split('+').ElementAtOrDefault(1) ?? "unknown",
        ["gitTreeState"] = "clean",
        ["buildDate"] = "1970-01-01T00:00:00Z",
        ["goVersion"] = "dotnet" + Environment.Version,
        ["compiler"] = "roslyn",
        ["platform"] = $"linux/{System.Runtime.InteropServices.RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant() switch { "x64" => "amd64", var a => a }}",
    };
}
