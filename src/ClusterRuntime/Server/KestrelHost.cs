// The one way our HTTPS servers (the API server, the kubelet API) are built: Kestrel and console logging, nothing else.
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Appliance.ClusterRuntime.Server;

/// <summary>
/// A <see cref="WebApplicationBuilder"/> with Kestrel and single-line console logging, nothing else. <c>WebApplication.CreateSlimBuilder</c> is not used: it reads <c>appsettings*.json</c>
/// from the working directory with reload on change, which is a recursive inotify watch of that directory and a
/// managed entry per subdirectory. For a service started in <c>/</c> that was 38,000 watches and +20 MB RSS in the
/// agent (bench/agent/README.md), and a stray appsettings.json there would have configured Kestrel.
/// </summary>
public static class KestrelHost
{
    /// <summary>The builder, logging from <paramref name="minimum"/> up; the caller configures Kestrel's listeners and limits, then builds.</summary>
    public static WebApplicationBuilder CreateBuilder(string applicationName, LogLevel minimum)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [], ApplicationName = applicationName });
        builder.WebHost.UseKestrelCore();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss "; });
        builder.Logging.SetMinimumLevel(minimum);
        return builder;
    }
}
