// Signs one file with the library's Signer and reports the bundle written.
using Appliance.ImageBuilder.Signing;
using Appliance.ImageBuilder.Signing.InToto;
using Appliance.ImageBuilder.Signing.Io;
using Appliance.ImageBuilder.Signing.Keys;
using Appliance.ImageBuilder.Cli.Key;

namespace Appliance.ImageBuilder.Cli.Sign;

/// <summary>The arguments of <c>appliance sign</c>.</summary>
public sealed record SignRequest(string File, string KeyPath, BundleFormat Format, string? ProvenancePath,
    string? SbomPath, string? BundlePath, OutputFormat Output);

/// <summary>The logic of <c>appliance sign</c>.</summary>
public sealed class SignCommand(CliContext ctx)
{
    /// <summary>Signs and prints where the bundle went; returns the exit code.</summary>
    public int Run(SignRequest r)
    {
        if (r.Format == BundleFormat.Message && (r.ProvenancePath != null || r.SbomPath != null))
            throw new UserInputException("--provenance and --sbom need --format dsse: a message signature carries no statement");
        if (!System.IO.File.Exists(r.File))
            throw new UserInputException($"{r.File}: file to sign not found");
        var epoch = ToolInfo.SourceDateEpoch(ctx);
        var provenance = r.ProvenancePath != null
            ? ProvenanceFile.Read(r.ProvenancePath, ToolInfo.Version, epoch)
            : new Provenance { BuilderVersion = ToolInfo.Version, SourceDateEpoch = epoch };
        if (r.SbomPath != null)
        {
            if (!System.IO.File.Exists(r.SbomPath))
                throw new UserInputException($"{r.SbomPath}: SBOM file not found");
            provenance = provenance with
            {
                Sbom = new ResourceDescriptor(Path.GetFileName(r.SbomPath), Json.Hex(FileSha256.Hash(r.SbomPath)), "sbom", null,
                    Signing.Sbom.CycloneDxWriter.MediaType),
            };
        }
        if (!System.IO.File.Exists(r.KeyPath))
            throw new UserInputException($"{r.KeyPath}: key file not found");
        var password = KeyPassword.Get(ctx, $"Password for {r.KeyPath}: ", confirm: false);
        using var key = SigningKey.ReadPem(r.KeyPath, password);
        var bundle = Signer.SignFile(r.File, key, provenance, r.Format, r.BundlePath);
        if (r.Output == OutputFormat.Json)
        {
            var json = Json.Write(w =>
            {
                w.WriteStartObject();
                w.WriteString("file", r.File);
                w.WriteString("bundle", bundle);
                w.WriteString("format", r.Format == BundleFormat.Dsse ? "dsseEnvelope" : "messageSignature");
                w.WriteString("keyId", key.Id);
                w.WriteEndObject();
            }, indented: true);
            ctx.Out.Write(System.Text.Encoding.UTF8.GetString(json));
        }
        else
            ctx.Out.WriteLine($"Signed {r.File} with key {key.Id}: {bundle}");
        return ExitCodes.Ok;
    }
}
