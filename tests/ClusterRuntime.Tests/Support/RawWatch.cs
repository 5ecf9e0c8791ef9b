// A watch opened over a raw TLS socket that reads its response headers and then, if asked, nothing more (a stuck client).
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Appliance.ClusterRuntime.Tests.Support;

/// <summary>One HTTP/1.1 request on its own TLS connection, with the admin client certificate.</summary>
public sealed class RawWatch : IAsyncDisposable
{
    readonly TcpClient _tcp;
    readonly SslStream _tls;

    RawWatch(TcpClient tcp, SslStream tls)
    {
        _tcp = tcp;
        _tls = tls;
    }

    /// <summary>The client's local endpoint as the server sees it (<c>127.0.0.1:port</c>).</summary>
    public string LocalEndpoint => _tcp.Client.LocalEndPoint!.ToString()!;

    /// <summary>Connects with a small receive buffer, sends <c>GET path</c> and reads up to the end of the response headers.</summary>
    public static async Task<RawWatch> OpenAsync(RuntimeProcess server, string path, CancellationToken ct)
    {
        var tcp = new TcpClient(AddressFamily.InterNetwork) { ReceiveBufferSize = 16 * 1024 };
        await tcp.ConnectAsync("127.0.0.1", server.Port, ct);
        var tls = new SslStream(tcp.GetStream(), false);
        var dir = Path.Combine(server.DataDir, "tls");
        var cert = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(dir, "client-admin.crt")), File.ReadAllText(Path.Combine(dir, "client-admin.key")));
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "127.0.0.1",
            ClientCertificates = [X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null)],
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        }, ct);
        await tls.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n"), ct);
        var head = new List<byte>();
        var one = new byte[1];
        while (!(head.Count >= 4 && head[^4] == '\r' && head[^3] == '\n' && head[^2] == '\r' && head[^1] == '\n'))
        {
            if (await tls.ReadAsync(one, ct) == 0) throw new IOException("connection closed before the response headers");
            head.Add(one[0]);
        }
        var status = Encoding.ASCII.GetString(head.ToArray()).Split("\r\n")[0];
        if (!status.Contains(" 200 ", StringComparison.Ordinal)) throw new IOException($"watch answered {status}");
        return new RawWatch(tcp, tls);
    }

    /// <summary>
    /// Reads whatever is left for up to <paramref name="within"/>; true when the server ended the response or the
    /// connection (the watch was cut off), false when it was still open at the end.
    /// </summary>
    public async Task<bool> EndsWithinAsync(TimeSpan within)
    {
        using var cts = new CancellationTokenSource(within);
        var buffer = new byte[256 * 1024];
        var tail = new List<byte>();
        try
        {
            while (true)
            {
                var n = await _tls.ReadAsync(buffer, cts.Token);
                if (n == 0) return true;
                // A chunked response that ends cleanly closes with the zero-length chunk.
                tail.AddRange(buffer.AsSpan(Math.Max(0, n - 5), Math.Min(n, 5)).ToArray());
                if (tail.Count > 5) tail.RemoveRange(0, tail.Count - 5);
                if (tail.Count == 5 && Encoding.ASCII.GetString(tail.ToArray()) == "0\r\n\r\n") return true;
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        _tls.Dispose();
        _tcp.Dispose();
        return ValueTask.CompletedTask;
    }
}
