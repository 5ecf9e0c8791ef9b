// The real appliance-runtime as the device steps run it in tests: settings for a server on a free loopback port.
using System.Net;
using System.Net.Sockets;
using Appliance.Firstboot.Device;

namespace Appliance.Firstboot.Tests.Device;

/// <summary>Runs the runtime under test (TestSupport's <see cref="RuntimeProgram"/>) through <see cref="RuntimeCommand"/>.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
static class RealRuntime
{
    /// <summary>
    /// The program for <see cref="RuntimeSettings.Program"/>: the published runtime, or (for the built dll) a
    /// two-line script in <paramref name="dir"/> that execs the dotnet host, so the verb still comes first.
    /// </summary>
    public static string Program(TempDir dir)
    {
        if (RuntimeProgram.Published is { } published) return published;
        var path = dir.Write("bin/appliance-runtime", $"#!/bin/sh\nexec '{RuntimeProgram.Dotnet}' '{RuntimeProgram.Dll}' \"$@\"\n");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return path;
    }

    /// <summary>A server site in <c>dir/data</c> serving the API only, on 127.0.0.1:<paramref name="port"/>.</summary>
    public static RuntimeSettings Server(TempDir dir, int port, params string[] extra) =>
        new(RuntimeRole.Server, dir["data"], "edge-1")
        {
            Program = Program(dir),
            RunDirectory = dir["run"],
            ExtraArguments = ["--disable-agent", "--bind-address", "127.0.0.1", "--https-listen-port", port.ToString(), .. extra],
        };

    /// <summary>A TCP port that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Polls https://127.0.0.1:PORT/readyz (any certificate) until it answers ok; false after <paramref name="timeout"/>.</summary>
    public static async Task<bool> ReadyzAsync(int port, TimeSpan timeout, CancellationToken ct)
    {
        using var http = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } }) { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var r = await http.GetAsync($"https://127.0.0.1:{port}/readyz", ct);
                if (r.IsSuccessStatusCode && await r.Content.ReadAsStringAsync(ct) == "ok") return true;
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) when (!ct.IsCancellationRequested) { }
            await Task.Delay(100, ct);
        }
        return false;
    }
}
