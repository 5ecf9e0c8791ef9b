// Writes the admin kubeconfig (embedded base64 certificate data) that kubectl reads.
using System.Text;
using Appliance.Common;

namespace Appliance.Common.Pki;

/// <summary>Renders and writes kubeconfig files.</summary>
public static class Kubeconfig
{
    /// <summary>The kubeconfig YAML for <paramref name="server"/> with a client certificate.</summary>
    public static string Render(string server, PemPair serverCa, PemPair client)
    {
        static string B64(string pem) => Convert.ToBase64String(Encoding.UTF8.GetBytes(pem));
        return $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: default
              cluster:
                server: {server}
                certificate-authority-data: {B64(serverCa.CertificatePem)}
            contexts:
            - name: default
              context:
                cluster: default
                user: default
            current-context: default
            preferences: {"{}"}
            users:
            - name: default
              user:
                client-certificate-data: {B64(client.CertificatePem)}
                client-key-data: {B64(client.KeyPem)}

            """;
    }

    /// <summary>Writes the kubeconfig with mode 0600, only when its content changed.</summary>
    public static void Write(string path, string content)
    {
        if (File.Exists(path) && File.ReadAllText(path) == content)
        {
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            return;
        }
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        AtomicFile.WriteText(path, content, new(Mode: AtomicFileOptions.OwnerOnly));
    }
}
