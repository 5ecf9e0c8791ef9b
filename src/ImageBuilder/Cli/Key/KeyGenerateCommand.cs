// Creates a key pair in a directory, refusing to replace an existing one.
using Appliance.ImageBuilder.Signing.Keys;

namespace Appliance.ImageBuilder.Cli.Key;

/// <summary>The logic of <c>appliance key generate</c>.</summary>
public sealed class KeyGenerateCommand(CliContext ctx)
{
    /// <summary>Generates the pair into <paramref name="directory"/>; returns the exit code.</summary>
    public int Run(string directory)
    {
        var files = KeyPairFiles.In(directory);
        foreach (var p in new[] { files.PrivateKeyPath, files.PublicKeyPath })
            if (File.Exists(p))
                throw new UserInputException($"{p}: already exists; refusing to overwrite a key (move it away or choose another directory)");
        if (File.Exists(directory))
            throw new UserInputException($"{directory}: is a file; expected a directory");
        var password = KeyPassword.Get(ctx, "Password for the new private key: ", confirm: true);
        using var key = SigningKey.Generate();
        files.Write(key, password);
        ctx.Out.WriteLine($"private key: {files.PrivateKeyPath} (encrypted PKCS#8, mode 0600)");
        ctx.Out.WriteLine($"public key:  {files.PublicKeyPath}");
        ctx.Out.WriteLine($"key id:      {key.Id}");
        return ExitCodes.Ok;
    }
}
