// GET /containerLogs/{ns}/{pod}/{container}?follow&previous&timestamps&tailLines&sinceSeconds&sinceTime&limitBytes
using Appliance.ClusterRuntime.Agent.Kubelet.Logs;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Agent.KubeletApi;

/// <summary>Streams one container's log as plain text, flushed as it is read.</summary>
sealed class ContainerLogsEndpoint(PodLogLocator locator, ILogger logger)
{
    readonly CriLogReader _reader = new();

    public async Task HandleAsync(HttpContext ctx, string rest)
    {
        var parts = rest.Split('/');
        if (parts.Length != 3 || parts.Any(p => p.Length == 0))
        {
            await KubeletServer.Text(ctx, 400, "expected /containerLogs/{namespace}/{pod}/{container}");
            return;
        }
        LogOptions options;
        ContainerLogFile file;
        try
        {
            var q = ctx.Request.Query;
            options = LogOptions.Parse(name => q.TryGetValue(name, out var v) ? v.ToString() : null, DateTimeOffset.UtcNow);
            file = locator.Find(Uri.UnescapeDataString(parts[0]), Uri.UnescapeDataString(parts[1]), Uri.UnescapeDataString(parts[2]), options.Previous);
        }
        catch (ArgumentException e)
        {
            await KubeletServer.Text(ctx, 400, e.Message);
            return;
        }
        catch (LogNotFoundException e)
        {
            await KubeletServer.Text(ctx, e.Status, e.Message);
            return;
        }
        ctx.Response.StatusCode = 200;
        ctx.Response.ContentType = "text/plain";
        await ctx.Response.StartAsync(ctx.RequestAborted);
        try
        {
            await _reader.CopyAsync(file.Path, options, ctx.Response.Body, file.StillRunning, ctx.RequestAborted);
        }
        catch (OperationCanceledException) when (ctx.RequestAborted.IsCancellationRequested)
        {
        }
        catch (IOException e) when (!ctx.RequestAborted.IsCancellationRequested)
        {
            // The status line is sent: cut the stream so the client sees a broken response, not a clean short one.
            logger.LogWarning("reading {Path} failed: {Message}", file.Path, e.Message);
            ctx.Abort();
        }
    }
}
